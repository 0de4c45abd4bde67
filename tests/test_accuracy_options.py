"""Modelling options for accuracy: pretrained embeddings, distillation, word dropout, hyperparameter search."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from datasets import Dataset
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, TrainingArguments, pipeline

import hf_rnn  # noqa: F401
from hf_rnn import GRUConfig, GRUForSequenceClassification, LSTMConfig, LSTMForSequenceClassification
from hf_rnn.command_args import SearchArguments, TeacherArguments
from hf_rnn.data import load_splits
from hf_rnn.distillation import (
    Augmentation,
    SoftLabels,
    adjust_teacher,
    augment_texts,
    distillation_loss,
    distillation_set,
    ensemble_logits,
    first_format_text_key,
    teacher_logits,
    text_key,
    train_teacher,
    word_neighbours,
    write_soft_labels,
)
from hf_rnn.pretrained_embeddings import principal_components, token_output_embeddings
from hf_rnn.search import search
from hf_rnn.tokenization import train_tokenizer
from hf_rnn.training import train
from hf_rnn.training_args import ArgumentError, DataArguments, ModelArguments, RecurrentTrainingArguments

SMALL_SPLITS = dict(validation_fraction=0.2, test_fraction=0.2)


def small_training_args(output_dir, **overrides) -> RecurrentTrainingArguments:
    settings = dict(output_dir=str(output_dir), num_train_epochs=2, disable_tqdm=True, save_total_limit=1)
    settings.update(overrides)
    return RecurrentTrainingArguments(**settings)


def test_embeddings_from_a_real_hub_model(minilm_dir, tiny_label_file, tmp_path):
    metrics = train(
        ModelArguments(model_type="lstm", embeddings_from=str(minilm_dir), hidden_size=16, freeze_embeddings=True),
        DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
        small_training_args(tmp_path / "student"),
    )
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    source = AutoModel.from_pretrained(minilm_dir).get_input_embeddings().weight
    student = AutoModel.from_pretrained(tmp_path / "student")
    assert student.config.embedding_dim == source.shape[1] and student.config.vocab_size == source.shape[0]
    torch.testing.assert_close(student.get_input_embeddings().weight, source)  # frozen: unchanged by training
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "student")
    assert tokenizer.tokenize("photosynthesis") == AutoTokenizer.from_pretrained(minilm_dir).tokenize("photosynthesis")
    assert "token_type_ids" not in tokenizer("Who wrote Hamlet ?")
    card = (tmp_path / "student" / "README.md").read_text()
    assert f"The tokenizer and the input embeddings come from `{minilm_dir.name}`" in card
    assert "and were kept frozen in training" in card and str(minilm_dir.parent) not in card
    answer = pipeline("text-classification", model=str(tmp_path / "student"))("Who wrote Hamlet ?")
    assert answer[0]["label"] in student.config.label2id


def test_embeddings_pca_dims_trains_a_narrower_model(minilm_dir, tiny_label_file, tmp_path):
    train(
        ModelArguments(model_type="gru", embeddings_from=str(minilm_dir), embeddings_pca_dims=8, hidden_size=8,
                       freeze_embeddings=True),
        DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
        small_training_args(tmp_path / "student", num_train_epochs=1),
    )  # fmt: skip
    source = AutoModel.from_pretrained(minilm_dir).get_input_embeddings().weight.detach()
    student = AutoModel.from_pretrained(tmp_path / "student")
    assert student.config.embedding_dim == 8
    torch.testing.assert_close(student.get_input_embeddings().weight, principal_components(source, 8))
    centred = (source - source.mean(0)).double()
    reduced = principal_components(source, 8).double()
    # The 8 directions hold more of the variance than any other 8: here, more than the first 8 coordinates.
    assert reduced.pow(2).sum() > centred[:, :8].pow(2).sum()
    torch.testing.assert_close(reduced.T @ reduced, torch.diag(torch.diag(reduced.T @ reduced)), atol=1e-3, rtol=0)
    with pytest.raises(ArgumentError, match="give --embeddings_from too"):
        ModelArguments(model_type="gru", embeddings_pca_dims=8)


def test_token_output_embeddings_are_a_sentence_encoders_one_word_texts(minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = AutoModel.from_pretrained(minilm_dir).eval()
    words = ["the", "who", "where", "city", "town", "doctor"]  # each a single word piece
    ids = tokenizer.convert_tokens_to_ids(words)
    table = token_output_embeddings(model, tokenizer, num_tokens=max(ids) + 1, batch_size=1000)
    assert table.shape == (max(ids) + 1, model.config.hidden_size) and table.dtype == torch.float32
    with torch.no_grad():  # mean pooling of the model's own encoding of each one-word text, [CLS] and [SEP] included
        encoded = tokenizer(words, return_tensors="pt")
        expected = model(**encoded).last_hidden_state.mean(dim=1)
    torch.testing.assert_close(table[ids], expected, atol=1e-5, rtol=1e-4)
    # Unlike the input embeddings, these place related words close: "city" nearer "town" than "who".
    cosine = torch.nn.functional.cosine_similarity
    city, town, who = (table[tokenizer.convert_tokens_to_ids(word)] for word in ("city", "town", "who"))
    assert cosine(city, town, dim=0) > cosine(city, who, dim=0) + 0.2


def test_embeddings_source_output_trains_on_them(minilm_dir, tiny_label_file, tmp_path):
    train(
        ModelArguments(model_type="gru", embeddings_from=str(minilm_dir), embeddings_source="output", hidden_size=8,
                       freeze_embeddings=True),
        DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
        small_training_args(tmp_path / "student", num_train_epochs=1),
    )  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    source = AutoModel.from_pretrained(minilm_dir).eval()
    student = AutoModel.from_pretrained(tmp_path / "student").get_input_embeddings().weight
    assert student.shape == source.get_input_embeddings().weight.shape
    words = ["who", "wrote", "the"]
    with torch.no_grad():
        expected = source(**tokenizer(words, return_tensors="pt")).last_hidden_state.mean(dim=1)
    torch.testing.assert_close(student[tokenizer.convert_tokens_to_ids(words)], expected, atol=1e-5, rtol=1e-4)
    card = (tmp_path / "student" / "README.md").read_text()
    assert "each token's embedding is that model's mean output when it reads the token alone" in card
    with pytest.raises(ArgumentError, match="give --embeddings_from too"):
        ModelArguments(model_type="gru", embeddings_source="output")


def test_distillation_loss_limits():
    student = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    labels = torch.tensor([0, 2])
    teacher = torch.tensor([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0]])
    hard = torch.nn.functional.cross_entropy(student, labels)
    torch.testing.assert_close(distillation_loss(student, teacher, hard, alpha=0.0, temperature=2.0), hard)
    same = distillation_loss(student, torch.log_softmax(student, -1), hard, alpha=1.0, temperature=1.0)
    torch.testing.assert_close(same, torch.tensor(0.0), atol=1e-6, rtol=0)
    assert distillation_loss(student, teacher, hard, alpha=1.0, temperature=2.0) > 0.1


def test_adjust_teacher_swaps_only_wrong_rows():
    log_probs = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]], dtype=np.float32))
    adjusted = adjust_teacher(log_probs, np.array([0, 1, 1]))
    np.testing.assert_array_equal(adjusted[0], log_probs[0])  # right: untouched
    np.testing.assert_array_equal(adjusted[1], log_probs[1][[0, 2, 1]])  # 2 was on top, gold 1: swapped
    np.testing.assert_array_equal(adjusted[2], log_probs[2][[1, 0, 2]])
    assert (adjusted.argmax(-1) == [0, 1, 1]).all()


@pytest.mark.parametrize("problem_type", ["single_label_classification", "multi_label_classification"])
def test_label_smoothing_is_the_models_own_loss(problem_type):
    config = LSTMConfig(vocab_size=20, embedding_dim=4, hidden_size=4, num_labels=3, label_smoothing=0.3)
    model = LSTMForSequenceClassification(config).eval()
    input_ids = torch.tensor([[2, 3, 4], [5, 6, 0]])
    if problem_type == "single_label_classification":
        labels = torch.tensor([0, 2])
        logits = model(input_ids).logits
        expected = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.3)
    else:
        labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        logits = model(input_ids).logits
        expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels * 0.7 + 0.15)
    torch.testing.assert_close(model(input_ids, labels=labels).loss, expected)
    model.config.label_smoothing = 0.0
    plain = model(input_ids, labels=labels).loss
    assert not torch.allclose(plain, expected)
    if problem_type == "single_label_classification":
        torch.testing.assert_close(plain, torch.nn.functional.cross_entropy(logits, labels))


def test_teacher_then_distilled_student(minilm_dir, tiny_label_file, tmp_path):
    teacher_dir = tmp_path / "teacher"
    teacher_args = TrainingArguments(
        output_dir=str(teacher_dir), num_train_epochs=1, per_device_train_batch_size=16, report_to="none",
        save_strategy="no", disable_tqdm=True, use_cpu=True,
    )  # fmt: skip
    data = load_splits(train_file=str(tiny_label_file), **SMALL_SPLITS)
    teacher_metrics = train_teacher(minilm_dir, teacher_args, data)
    assert "eval_accuracy" in teacher_metrics and "test_accuracy" in teacher_metrics
    names = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
    soft = teacher_logits(teacher_dir, ["Who wrote Hamlet ?"], list(reversed(names)))
    straight = teacher_logits(teacher_dir, ["Who wrote Hamlet ?"], names)
    assert soft.shape == (1, 6)
    assert soft[0].tolist() == pytest.approx(straight[0][::-1].tolist())  # matched by name, not id
    with pytest.raises(ValueError, match="teacher predicts"):
        teacher_logits(teacher_dir, ["Who ?"], names[:5] + ["OTHER"])

    metrics = train(
        ModelArguments(model_type="gru", hidden_size=16, embedding_dim=16),
        DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
        small_training_args(
            tmp_path / "student", teacher=str(teacher_dir), distillation_alpha=0.7, distillation_augment_copies=2
        ),
    )
    assert metrics["train_loss"] > 0 and 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["train_samples"] == 3 * len(data["train"])  # the questions and two teacher-labelled copies each
    assert (tmp_path / "student" / "model.safetensors").is_file()

    # The teacher's soft labels, written once to a small file that holds no text, replace the teacher in a student run.
    soft_file = tmp_path / "soft.parquet"
    texts = list(data["train"]["text"])
    rows = write_soft_labels(teacher_dir, texts, names, soft_file, Augmentation(copies=2, seed=5))
    assert rows <= 3 * len(texts) and not any(text.encode() in soft_file.read_bytes() for text in texts)
    tokenizer = train_tokenizer(texts)
    encoded = tokenizer(texts)
    encoded_train = Dataset.from_dict({**encoded, "labels": data["train"]["label"]})
    from_file, stored = distillation_set(encoded_train, texts, tokenizer, names, 64, soft_labels=soft_file)
    assert stored == Augmentation(copies=2, seed=5)
    # A file of the first format (hex keys, float32 scores, no replacement in its metadata) still reads.
    first = pq.read_table(soft_file)
    keys = {text_key(text): first_format_text_key(text) for text in texts + Augmentation(2, 5).apply(texts)}
    old_metadata = {k: v for k, v in json.loads(first.schema.metadata[b"hf_rnn_soft_labels"]).items()
                    if k not in ("replace_probability", "neighbours_from")}  # fmt: skip
    pq.write_table(
        pa.table(
            {"key": [keys[key] for key in first.column("key").to_pylist()],
             "teacher_logits": [np.float32(row).tolist() for row in first.column("teacher_logits").to_pylist()]},
            metadata={"hf_rnn_soft_labels": json.dumps(old_metadata)},
        ),
        tmp_path / "first.parquet",
    )  # fmt: skip
    from_first, _ = distillation_set(encoded_train, texts, tokenizer, names, 64,
                                     soft_labels=tmp_path / "first.parquet")  # fmt: skip
    assert from_first["input_ids"] == from_file["input_ids"] and from_first["labels"] == from_file["labels"]
    replacing = Augmentation(copies=2, seed=5, replace_probability=0.5, neighbours_from=str(minilm_dir))
    write_soft_labels(teacher_dir, texts, names, tmp_path / "replaced.parquet", replacing)
    assert SoftLabels.read(tmp_path / "replaced.parquet").augmentation == replacing
    from_replaced, _ = distillation_set(encoded_train, texts, tokenizer, names, 64,
                                        soft_labels=tmp_path / "replaced.parquet")  # fmt: skip
    assert from_replaced["input_ids"][: len(texts)] == from_file["input_ids"][: len(texts)]
    assert from_replaced["input_ids"][len(texts) :] != from_file["input_ids"][len(texts) :]
    from_teacher, _ = distillation_set(encoded_train, texts, tokenizer, names, 64, teacher=teacher_dir,
                                       augmentation=Augmentation(copies=2, seed=5))  # fmt: skip
    assert from_file["input_ids"] == from_teacher["input_ids"]
    exact = np.asarray(from_teacher["teacher_logits"])
    assert np.allclose(from_file["teacher_logits"], exact, atol=1e-2)  # stored as float16
    top_two = np.sort(exact, axis=-1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 0.02  # a copy's label is the teacher's choice, unless it nearly ties
    assert np.array_equal(np.asarray(from_file["labels"])[clear], np.asarray(from_teacher["labels"])[clear])
    adjusted, _ = distillation_set(encoded_train, texts, tokenizer, names, 64, soft_labels=soft_file, adjust=True)
    gold = np.asarray(data["train"]["label"])
    assert adjusted["labels"] == np.concatenate([gold, np.repeat(gold, 2)]).tolist()  # copies keep their source's
    adjusted_scores = np.asarray(adjusted["teacher_logits"])
    top_two = np.sort(adjusted_scores, axis=-1)[:, -2:]
    clear = top_two[:, 1] > top_two[:, 0]  # float16 scores of a barely trained teacher can tie
    assert clear.mean() > 0.5
    assert (adjusted_scores.argmax(axis=-1) == adjusted["labels"])[clear].all()
    with pytest.raises(ValueError, match="no soft labels for 3 of"):
        distillation_set(encoded_train, texts + ["A text the teacher never saw ?"], tokenizer, names, 64,
                         soft_labels=soft_file)  # fmt: skip
    metrics = train(
        ModelArguments(model_type="gru", hidden_size=16, embedding_dim=16),
        DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
        small_training_args(tmp_path / "student-file", teacher_soft_labels=str(soft_file)),
    )
    assert metrics["train_samples"] == 3 * len(data["train"])
    card = (tmp_path / "student-file" / "README.md").read_text()
    assert "with the teacher's soft labels from `soft.parquet` over the training texts and 2 perturbed copies" in card
    assert "perturbed copies of each; a copy's hard label is the teacher's top class." in card
    assert "| `distillation_augment_copies` | `2` |" in card and str(tmp_path) not in card
    with pytest.raises(ArgumentError, match="similar words in the --embeddings_from embeddings"):
        train(
            ModelArguments(model_type="gru", hidden_size=16, embedding_dim=16),
            DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
            small_training_args(tmp_path / "student-r", teacher=str(teacher_dir), distillation_augment_copies=1,
                                distillation_replace_probability=0.2),
        )  # fmt: skip
    with pytest.raises(ArgumentError, match="--soft_label_replace_probability needs --soft_label_neighbours_from"):
        TeacherArguments(model_name_or_path=str(teacher_dir), soft_label_replace_probability=0.2)
    with pytest.raises(ArgumentError, match="distillation_augment_copies 3: the soft-label file .* written with 2"):
        train(
            ModelArguments(model_type="gru", hidden_size=16, embedding_dim=16),
            DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
            small_training_args(tmp_path / "student-3", teacher_soft_labels=str(soft_file),
                                distillation_augment_copies=3),
        )  # fmt: skip

    # A teacher ensemble: the file holds the renormalised mean of the teachers' log-probabilities.
    other = AutoModelForSequenceClassification.from_pretrained(teacher_dir)
    with torch.no_grad():
        other.classifier.bias += torch.linspace(-2.0, 2.0, other.config.num_labels)
    other.save_pretrained(tmp_path / "other-teacher")
    AutoTokenizer.from_pretrained(teacher_dir).save_pretrained(tmp_path / "other-teacher")
    pair = [teacher_dir, tmp_path / "other-teacher"]
    own, others = (teacher_logits(path, texts, names) for path in pair)
    assert not np.allclose(own, others, atol=0.1)
    mean = (own + others) / 2
    expected = mean - np.log(np.exp(mean).sum(axis=-1, keepdims=True))
    assert np.allclose(ensemble_logits(pair, texts, names), expected, atol=1e-5)
    write_soft_labels(pair, texts, names, tmp_path / "ensemble.parquet")
    stored = SoftLabels.read(tmp_path / "ensemble.parquet")
    assert np.allclose(stored.lookup(texts, names, "ensemble"), expected, atol=1e-2)
    assert json.loads(pq.read_schema(tmp_path / "ensemble.parquet").metadata[b"hf_rnn_soft_labels"])["teacher"] == (
        "teacher+other-teacher"
    )
    with pytest.raises(ArgumentError, match="--soft_label_ensemble averages soft labels: it needs --soft_labels_file"):
        TeacherArguments(model_name_or_path=str(teacher_dir), soft_label_ensemble=[str(tmp_path / "other-teacher")])


def test_word_dropout_only_while_training():
    torch.manual_seed(0)
    model = GRUForSequenceClassification(
        GRUConfig(vocab_size=50, embedding_dim=4, hidden_size=4, num_labels=2, word_dropout=0.5)
    )
    ids = torch.randint(2, 50, (8, 30))
    mask = torch.ones_like(ids)
    mask[:, 25:] = 0
    model.train()
    dropped = model.encoder._drop_words(ids, mask.bool())
    assert (dropped == 1).float().mean() > 0.25  # about half of the real tokens became [UNK]
    assert torch.equal(dropped[:, 25:], ids[:, 25:])  # padding untouched
    model.eval()
    assert torch.equal(model.encoder._drop_words(ids, mask.bool()), ids)


def test_search_scores_trials_on_validation_only(tiny_label_file, tmp_path):
    result = search(
        ModelArguments(model_type="rnn"),
        DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS),
        small_training_args(tmp_path / "search", num_train_epochs=1),
        SearchArguments(n_trials=2),
    )
    assert len(result["trials"]) == 2
    sampled = {"hidden_size", "pooling", "learning_rate", "recurrent_weight_dropout", "adversarial_epsilon"}
    assert sampled <= set(result["best_hyperparameters"])
    assert result["best_validation_accuracy"] == max(trial["validation_accuracy"] for trial in result["trials"])
    saved = json.loads((tmp_path / "search" / "search_results.json").read_text())
    assert saved["best_hyperparameters"] == result["best_hyperparameters"]


def test_augmented_questions_mask_words_and_sample_spans():
    questions = ["What is the capital city of France and Spain ?"] * 200
    copies = augment_texts(questions, copies=2, seed=0, mask_probability=0.2, ngram_probability=0.5)
    assert len(copies) == 400
    assert copies == augment_texts(questions, copies=2, seed=0, mask_probability=0.2, ngram_probability=0.5)
    words = questions[0].split()
    masked = sum(copy.split().count("[UNK]") for copy in copies) / sum(len(copy.split()) for copy in copies)
    assert 0.1 < masked < 0.3
    spans = [copy for copy in copies if len(copy.split()) <= 5]
    assert 0.3 < len(spans) / len(copies) < 0.7
    for copy in copies:  # every copy is the question, or a contiguous span of it, with some words masked
        tokens = copy.split()
        assert any(
            all(token in ("[UNK]", words[start + index]) for index, token in enumerate(tokens))
            for start in range(len(words) - len(tokens) + 1)
        )


def test_copies_replace_words_by_their_neighbours_in_pretrained_embeddings(minilm_dir):
    questions = [f"What is the name of the {word} in the story ?" for word in ("sword", "city", "dog", "king")] * 10
    neighbours = word_neighbours(minilm_dir, questions + ["Who wrote Hamlet ?"] * 40, count=5, keep_fraction=0.2)
    assert set(neighbours) == {"sword", "city", "dog", "king"}  # each in 10 of 80 texts; the others in 40, or short
    assert len(neighbours["sword"]) == 5 and "sword" not in neighbours["sword"]
    assert {"blade", "weapon", "knife"} & set(neighbours["sword"]) and {"town", "cities"} & set(neighbours["city"])

    plain = augment_texts(questions, copies=3, seed=4, mask_probability=0.1, ngram_probability=0.0)
    unchanged = augment_texts(questions, 3, 4, 0.1, 0.0, replace_probability=0.0, neighbours=neighbours)
    assert unchanged == plain  # without replacement the copies are those of earlier versions
    replaced = augment_texts(questions, 3, 4, mask_probability=0.0, ngram_probability=0.0, replace_probability=0.5,
                             neighbours=neighbours)  # fmt: skip
    changed = [
        (word, new) for question, copy in zip(np.repeat(questions, 3), replaced)
        for word, new in zip(question.split(), copy.split()) if word != new
    ]  # fmt: skip
    assert changed and all(new in neighbours[word.lower()] for word, new in changed)
    assert 0.3 < len(changed) / len(replaced) < 0.7  # one replaceable word per question, half the time replaced
    with pytest.raises(ValueError, match="needs their `neighbours`"):
        augment_texts(questions, 1, 0, replace_probability=0.2)
    with pytest.raises(ValueError, match="needs a model"):
        Augmentation(copies=1, replace_probability=0.2)

    # An `Augmentation` makes the same copies every time: a student run rebuilds those its soft-label file covers.
    augmentation = Augmentation(copies=2, seed=1, replace_probability=0.5, neighbours_from=str(minilm_dir))
    distinct = [f"What is the {word} ?" for word in ("sword", "city", "dog", "king", "river", "doctor")]
    copies = augmentation.apply(distinct)
    assert copies == augmentation.apply(distinct) and copies != Augmentation(copies=2, seed=1).apply(distinct)
    assert Augmentation(copies=2, seed=1).apply(distinct) == augment_texts(distinct, 2, 1)


def test_fine_tuning_a_saved_model_applies_its_dropouts_and_keeps_its_shape(tiny_label_file, tmp_path):
    data = DataArguments(train_file=str(tiny_label_file), **SMALL_SPLITS)
    base = str(tmp_path / "base")
    train(ModelArguments(model_type="gru", hidden_size=16, embedding_dim=16), data, small_training_args(base))
    tuned = ModelArguments(model_name_or_path=base, embedding_dropout=0.4, recurrent_weight_dropout=0.1)
    train(tuned, data, small_training_args(tmp_path / "tuned", num_train_epochs=1))
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["model_type"] == "hf_gru" and config["hidden_size"] == 16  # the saved shape, not the defaults
    assert config["embedding_dropout"] == 0.4 and config["recurrent_weight_dropout"] == 0.1
    saved = json.loads((tmp_path / "base" / "config.json").read_text())
    assert config["classifier_dropout"] == saved["classifier_dropout"]  # left at its default: the saved value
    with pytest.raises(ArgumentError, match=r"--hidden_size 32: --model_name_or_path .*base has hidden_size=16, and"):
        train(ModelArguments(model_name_or_path=base, hidden_size=32), data, small_training_args(tmp_path / "wider"))
    fine_labels = DataArguments(train_file=str(tiny_label_file), label_column_name="fine_label", **SMALL_SPLITS)
    with pytest.raises(ArgumentError, match=r"base was trained on labels \['ABBR', .*, but this data has labels"):
        train(ModelArguments(model_name_or_path=base), fine_labels, small_training_args(tmp_path / "fine"))
