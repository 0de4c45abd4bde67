"""Reliability of inference: odd questions, long questions, bad arguments, and several threads on one model.

The models are tiny and untrained (larger initial weights, so that their answers are not all close to uniform): what
is tested is that every string gets a well-formed answer that does not depend on anything but the string.
"""

import json
import random
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import pipeline

from hf_rnn import ARCHITECTURES
from hf_rnn.data.trec import COARSE_LABELS, read_label_file
from hf_rnn.inference import load_classifier, predict, predict_proba
from hf_rnn.tokenization import train_tokenizer

from .conftest import TESTS_DATA, subprocess_env

MAX_LENGTH = 32
LONG_QUESTION = ("What is the longest river in the world ? " * 2500)[:100_000]
ODD_QUESTIONS = {
    "empty": "",
    "whitespace only": " \t \u3000 ",
    "single character": "a",
    "only punctuation": "?!...,;:'\"()",
    "non-ASCII": "Qu'est-ce que l'été à Zürich ?",
    "emoji": "🤔❓🎉",
    "mixed scripts": "What is 東京 in Русский or العربية ?",
    "control and invisible characters": "\x00\x1b[31m\u200b\ufeff",
    "100,000 characters": LONG_QUESTION,
}


def save_tiny_classifier(directory: Path, model_type: str = "gru", **config) -> Path:
    """Save an untrained classifier with a tokenizer trained on the reliability fixture (`model_max_length` 32)."""
    questions = read_label_file(TESTS_DATA / "reliability_train.label")
    tokenizer = train_tokenizer([question.text for question in questions], model_max_length=MAX_LENGTH)
    config_class, _, classifier_class = ARCHITECTURES[model_type]
    settings = {"embedding_dim": 16, "hidden_size": 16, "initializer_range": 0.5, "bidirectional": True}
    settings["pooling"] = "attention"
    settings.update(config)
    torch.manual_seed(0)
    model = classifier_class(
        config_class(
            vocab_size=len(tokenizer),
            id2label=dict(enumerate(COARSE_LABELS)),
            label2id={name: index for index, name in enumerate(COARSE_LABELS)},
            **settings,
        )
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def model_dir(request, tmp_path_factory) -> Path:
    return save_tiny_classifier(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def classifier(model_dir):
    return load_classifier(model_dir)


@pytest.fixture(scope="module")
def gru_classifier(tmp_path_factory):
    return load_classifier(save_tiny_classifier(tmp_path_factory.mktemp("gru")))


def assert_distributions(probabilities: np.ndarray, rows: int) -> None:
    assert probabilities.shape == (rows, len(COARSE_LABELS))
    assert np.isfinite(probabilities).all() and (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-5)


def test_odd_questions_each_get_a_label_and_a_distribution_independent_of_the_batch(classifier):
    model, tokenizer = classifier
    questions = list(ODD_QUESTIONS.values())
    with pytest.warns(UserWarning, match=rf"1 text\(s\) longer than {MAX_LENGTH} tokens were truncated"):
        together = predict_proba(model, tokenizer, questions, batch_size=4)
    assert_distributions(together, len(questions))
    for index, question in enumerate(questions):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alone = predict_proba(model, tokenizer, [question])
        np.testing.assert_allclose(alone[0], together[index], rtol=0, atol=1e-6, err_msg=repr(question[:40]))
    answers = predict(model, tokenizer, questions[:-1])
    assert [answer["label"] for answer in answers] == [COARSE_LABELS[i] for i in together[:-1].argmax(axis=1)]
    assert [answer["score"] for answer in answers] == pytest.approx(together[:-1].max(axis=1), abs=1e-6)


def test_long_question_is_truncated_to_a_configurable_max_length_with_a_warning(gru_classifier):
    model, tokenizer = gru_classifier

    def first_tokens(count: int) -> str:
        ids = tokenizer(LONG_QUESTION)["input_ids"][:count]
        return " ".join(tokenizer.convert_ids_to_tokens(ids))

    for max_length, expected_length in ((None, MAX_LENGTH), (1000, 1000), (8, 8)):
        with pytest.warns(UserWarning, match=f"truncated to {expected_length} tokens"):
            cut = predict_proba(model, tokenizer, [LONG_QUESTION], max_length=max_length)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            short = predict_proba(model, tokenizer, [first_tokens(expected_length)], max_length=max_length)
        np.testing.assert_allclose(cut, short, rtol=0, atol=1e-6)
    with pytest.warns(UserWarning, match="truncated to 8 tokens"):
        assert predict(model, tokenizer, [LONG_QUESTION], max_length=8)[0]["score"] == pytest.approx(
            cut.max(), abs=1e-6
        )


@pytest.mark.parametrize(
    "questions, error, message",
    [
        (None, TypeError, "got NoneType"),
        (42, TypeError, "got int"),
        ("What is DNA ?", TypeError, "single str; wrap it in a list"),
        (b"What is DNA ?", TypeError, "single bytes"),
        ([None], TypeError, "text 0 is NoneType"),
        (["What is DNA ?", 3.5], TypeError, "text 1 is float"),
        (["What is DNA ?", b"x"], TypeError, "text 1 is bytes"),
    ],
)
def test_none_and_non_strings_get_a_clear_type_error(gru_classifier, questions, error, message):
    model, tokenizer = gru_classifier
    with pytest.raises(error, match=message):
        predict(model, tokenizer, questions)


def test_max_length_below_one_is_refused(gru_classifier):
    with pytest.raises(ValueError, match="max_length must be at least 1"):
        predict_proba(*gru_classifier, ["What is DNA ?"], max_length=0)


@settings(max_examples=30, deadline=None)
@given(questions=st.lists(st.text(max_size=40), min_size=1, max_size=6), batch_size=st.integers(1, 4))
@pytest.mark.filterwarnings("ignore:.*were truncated")
def test_any_strings_get_distributions_that_do_not_depend_on_the_batch(gru_classifier, questions, batch_size):
    model, tokenizer = gru_classifier
    together = predict_proba(model, tokenizer, questions, batch_size=batch_size)
    assert_distributions(together, len(questions))
    reversed_order = predict_proba(model, tokenizer, questions[::-1], batch_size=batch_size)[::-1]
    np.testing.assert_allclose(reversed_order, together, rtol=0, atol=1e-6)
    for index, question in enumerate(questions):
        np.testing.assert_allclose(predict_proba(model, tokenizer, [question])[0], together[index], rtol=0, atol=1e-6)


def test_pipeline_truncates_when_asked_and_agrees_with_predict(model_dir, classifier):
    model, tokenizer = classifier
    classify = pipeline("text-classification", model=str(model_dir), truncation=True)
    questions = list(ODD_QUESTIONS.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = predict_proba(model, tokenizer, questions)
    for question, row in zip(questions, expected):
        scores = {item["label"]: item["score"] for item in classify(question, top_k=None)}
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert [scores[label] for label in COARSE_LABELS] == pytest.approx(row, abs=1e-6)
    with pytest.warns(UserWarning, match="truncated to 8 tokens"):
        cut = predict_proba(model, tokenizer, [LONG_QUESTION], max_length=8)
    assert classify(LONG_QUESTION, max_length=8)[0]["score"] == pytest.approx(cut.max(), abs=1e-6)
    # Without truncation the pipeline reads the whole question: slower, but an answer, not an error.
    whole = pipeline("text-classification", model=model, tokenizer=tokenizer)(LONG_QUESTION[:2000], top_k=None)
    assert sum(item["score"] for item in whole) == pytest.approx(1.0, abs=1e-5)


def test_predict_and_pipeline_from_many_threads_match_sequential_answers(gru_classifier):
    model, tokenizer = gru_classifier
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, truncation=True)
    fixture = [question.text for question in read_label_file(TESTS_DATA / "reliability_train.label")[:30]]
    # Half of them longer than MAX_LENGTH: a pipeline call that lost its truncation would answer differently.
    questions = [text * (1 + index % 8) for index, text in enumerate(fixture)] + list(ODD_QUESTIONS.values())

    def answer(task: tuple[str, int]) -> dict:
        kind, index = task
        if kind == "pipeline":
            return classify(questions[index])[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predict(model, tokenizer, [questions[index]])[0]

    tasks = [(kind, index) for kind in ("predict", "pipeline") for index in range(len(questions))]
    sequential = {task: answer(task) for task in tasks}
    concurrent_tasks = tasks * 4
    random.Random(0).shuffle(concurrent_tasks)
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(answer, concurrent_tasks))
    for task, result in zip(concurrent_tasks, concurrent):
        assert result["label"] == sequential[task]["label"], task
        assert result["score"] == pytest.approx(sequential[task]["score"], abs=1e-6), task


def test_cli_predict_answers_odd_questions_and_warns_about_the_long_one(tmp_path):
    model_dir = save_tiny_classifier(tmp_path / "model")
    questions = list(ODD_QUESTIONS.values())
    questions.remove(ODD_QUESTIONS["control and invisible characters"])  # "\x1b" and NUL do not belong in a terminal
    command = [sys.executable, "-m", "hf_rnn.cli", "predict", "--model_name_or_path", str(model_dir)]
    result = subprocess.run(
        command,
        check=False,
        input="\n".join(questions) + "\n",
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"longer than {MAX_LENGTH} tokens were truncated" in result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["text"] for answer in answers] == questions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = predict(*load_classifier(model_dir), questions)
    assert [answer["label"] for answer in answers] == [item["label"] for item in expected]
    assert [answer["score"] for answer in answers] == pytest.approx([item["score"] for item in expected], abs=1e-6)
