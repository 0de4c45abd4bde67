"""The data layer: any text-classification data as `DatasetDict(train, validation, test)` of `text` and `label`.

`loading` reads datasets and files and cuts missing splits (`splitting`); `trec` is the Li & Roth reader and the TREC
label lists, the only TREC-specific code of the package.
"""

from .errors import DataError
from .loading import FILE_FORMATS, is_multi_label, label_names, load_splits, read_data_file
from .splitting import stratified_split

__all__ = [
    "DataError",
    "FILE_FORMATS",
    "is_multi_label",
    "label_names",
    "load_splits",
    "read_data_file",
    "stratified_split",
]
