"""The one error type of the data layer."""


class DataError(ValueError):
    """Data that cannot be used as given; the message names the file (and line or row) or the dataset at fault."""
