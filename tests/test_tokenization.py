"""Tokenizers trained on the train split only, saved and reloaded through AutoTokenizer."""

import pytest
from transformers import AutoTokenizer

from hf_rnn.data import load_splits
from hf_rnn.tokenization import PAD_TOKEN, UNK_TOKEN, train_tokenizer


@pytest.mark.parametrize("tokenizer_type", ["word", "wordpiece"])
def test_round_trip_through_auto_tokenizer(tmp_path, tokenizer_type):
    texts = ["What is the capital of France ?", "Who wrote Hamlet ?", "How many legs does a spider have ?"]
    tokenizer = train_tokenizer(texts, tokenizer_type=tokenizer_type, vocab_size=200)
    assert tokenizer.convert_tokens_to_ids([PAD_TOKEN, UNK_TOKEN]) == [0, 1]
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    batch = ["Who is the capital ?", "what"]
    assert reloaded(batch, padding=True).data == tokenizer(batch, padding=True).data
    assert reloaded.model_input_names == ["input_ids", "attention_mask"]


def test_word_tokenizer_maps_unseen_words_to_unk_and_splits_punctuation():
    tokenizer = train_tokenizer(["who wrote hamlet ?"])
    ids = tokenizer("Who wrote Macbeth?")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["who", "wrote", UNK_TOKEN, "?"]


def test_tokenizer_never_sees_validation_or_test_text(trec_train_file):
    data = load_splits(train_file=trec_train_file)
    tokenizer = train_tokenizer(data["train"]["text"], vocab_size=100_000)
    train_words = {word for text in data["train"]["text"] for word, _ in _words(tokenizer, text)}
    held_out_words = {
        word for split in ("validation", "test") for text in data[split]["text"] for word, _ in _words(tokenizer, text)
    }
    unseen = held_out_words - train_words
    assert unseen, "the held-out splits should contain words the train split lacks"
    vocabulary = set(tokenizer.get_vocab()) - {PAD_TOKEN, UNK_TOKEN}
    assert vocabulary == train_words
    assert not vocabulary & unseen
    for word in list(unseen)[:50]:
        assert tokenizer.convert_tokens_to_ids(word) == tokenizer.unk_token_id


def _words(tokenizer, text):
    normalized = tokenizer.backend_tokenizer.normalizer.normalize_str(text)
    return tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(normalized)
