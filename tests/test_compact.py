"""
`hf-rnn compact` (`hf_rnn.compact`): PCA folded into the first layer (exact at full width, exact for the reconstructed
vectors below it), the float16 embedding file (smaller, loaded as float32 by `load_classifier`, `from_pretrained`,
`pipeline` and the shipped code without hf_rnn), vocabulary pruning (same tokens and logits on the pruning text,
renumbered special tokens), the command end to end, and the one-line errors. Tiny models only.
"""

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from hf_rnn import ARCHITECTURES
from hf_rnn.cli import main
from hf_rnn.compact import SUMMARY_FILENAME, CompactError, compact_model, read_texts
from hf_rnn.inference import ModelLoadError, load_classifier, predict
from hf_rnn.tokenization import train_tokenizer
from hf_rnn.training import train
from hf_rnn.training_args import DataArguments, ModelArguments, RecurrentTrainingArguments

from .conftest import TESTS_DATA, padded, subprocess_env

TINY_FILE = TESTS_DATA / "tiny_trec.label"
QUESTIONS = ["Who wrote Hamlet ?", "What is the capital of Australia ?", "How many legs does a spider have ?", ""]
EMBEDDING_KEY = "encoder.embeddings.weight"


def tiny_questions() -> list[str]:
    return read_texts(TINY_FILE)


def save_random_model(output_dir: Path, model_type: str = "lstm", tokenizer=None, **config: object) -> Path:
    """An untrained model (seeded, non-zero biases) with a tokenizer (default: words of the tiny file), saved."""
    config_class, _, classifier_class = ARCHITECTURES[model_type]
    tokenizer = tokenizer or train_tokenizer(tiny_questions())
    config = {"embedding_dim": 16, "hidden_size": 8, **config}
    torch.manual_seed(0)
    model = classifier_class(config_class(vocab_size=len(tokenizer), num_labels=6, **config))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "bias" in name:  # the fold must carry the mean into a bias that already holds something
                parameter.normal_(0.0, 0.1)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir


def logits(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def max_difference(first: Path, second: Path, texts: list[str]) -> float:
    (model, tokenizer), (other, other_tokenizer) = load_classifier(first), load_classifier(second)
    worst = 0.0
    for side in ("right", "left"):
        expected = logits(model, padded(tokenizer, texts, side))
        found = logits(other, padded(other_tokenizer, texts, side))
        worst = max(worst, float((expected - found).abs().max()))
    return worst


def model_labels(model_dir: Path) -> set[str]:
    return set(json.loads((model_dir / "config.json").read_text())["id2label"].values())


def run_cli(*argv: str) -> dict:
    output = io.StringIO()
    with redirect_stdout(output):
        main(list(argv))
    return json.loads(output.getvalue().strip().splitlines()[-1])


@pytest.mark.parametrize("basis", ["embeddings", "first_layer"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("model_type", ["rnn", "gru", "lstm"])
def test_pca_at_full_width_reproduces_the_logits(model_type, bidirectional, basis, tmp_path):
    # hidden 16: even a one-way simple RNN's first layer has 16 input units, enough for the first-layer basis
    source = save_random_model(tmp_path / "model", model_type, bidirectional=bidirectional, hidden_size=16)
    summary = compact_model(source, tmp_path / "out", pca_dims=16, embedding_dtype="float32", pca_basis=basis)
    assert summary["embedding_dim"] == 16 and summary["pca_explained_variance"] == pytest.approx(1.0)
    assert max_difference(source, tmp_path / "out", QUESTIONS + tiny_questions()) <= 1e-4


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("model_type", ["rnn", "gru", "lstm"])
def test_pca_fold_is_exact_for_the_reconstructed_vectors(model_type, bidirectional, tmp_path):
    """Below full width, the compact model equals the original fed `mean + P^T P (x - mean)` as `inputs_embeds`."""
    source = save_random_model(tmp_path / "model", model_type, bidirectional=bidirectional, embedding_dim=12)
    compact_model(source, tmp_path / "out", pca_dims=5, embedding_dtype="float32", pca_basis="embeddings")
    (model, tokenizer), (compact, compact_tokenizer) = load_classifier(source), load_classifier(tmp_path / "out")
    assert compact.config.embedding_dim == 5 and compact.get_input_embeddings().weight.shape[1] == 5
    rows = model.get_input_embeddings().weight.detach().double()
    mean = rows.mean(dim=0)
    directions = torch.linalg.svd(rows - mean, full_matrices=False).Vh[:5]  # P: the same subspace as an eigh's
    reconstructed = (mean + (rows - mean) @ directions.T @ directions).float()
    questions = QUESTIONS[:3]  # not the empty one: given `inputs_embeds`, an empty row reads zeros, not [PAD]'s row
    for side in ("right", "left"):
        batch = padded(tokenizer, questions, side)
        with torch.inference_mode():
            expected = model(inputs_embeds=reconstructed[batch["input_ids"]], attention_mask=batch["attention_mask"])
        found = logits(compact, padded(compact_tokenizer, questions, side))
        assert torch.allclose(found, expected.logits, atol=1e-4)


def test_first_layer_basis_keeps_more_of_what_the_layer_sees(tmp_path):
    source = save_random_model(tmp_path / "model", "lstm", embedding_dim=32)
    kept = {
        basis: compact_model(source, tmp_path / basis, pca_dims=8, embedding_dtype="float32", pca_basis=basis)
        for basis in ("embeddings", "first_layer")
    }
    differences = {basis: max_difference(source, tmp_path / basis, tiny_questions()) for basis in kept}
    assert 0 < kept["embeddings"]["pca_explained_variance"] < 1
    assert differences["first_layer"] < differences["embeddings"]


def test_float16_file_is_smaller_and_loads_as_float32(tmp_path):
    source = save_random_model(tmp_path / "model", "lstm", embedding_dim=32)
    full = compact_model(source, tmp_path / "fp32", pca_dims=0, embedding_dtype="float32")
    half = compact_model(source, tmp_path / "fp16", pca_dims=0, embedding_dtype="float16")
    embedding_bytes = half["vocab_size"] * 32 * 2
    assert full["weights_bytes"] - half["weights_bytes"] == pytest.approx(embedding_bytes, abs=256)
    with safe_open(str(tmp_path / "fp16" / "model.safetensors"), "pt") as weights:
        dtypes = {name: weights.get_slice(name).get_dtype() for name in weights.keys()}
    assert dtypes.pop(EMBEDDING_KEY) == "F16" and set(dtypes.values()) == {"F32"}
    assert json.loads((tmp_path / "fp16" / "config.json").read_text())["dtype"] == "float32"

    model, tokenizer = load_classifier(tmp_path / "fp16")
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    assert max_difference(source, tmp_path / "fp16", QUESTIONS) < 1e-2
    assert half["probe_agreement"] == 1.0
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "fp16")
    assert loaded.get_input_embeddings().weight.dtype == torch.float32
    stored = model.get_input_embeddings().weight
    assert torch.equal(stored, stored.half().float())  # the float16 values, upcast
    answers = pipeline("text-classification", model=str(tmp_path / "fp16"))(QUESTIONS[:3])
    assert [answer["label"] for answer in answers] == [
        answer["label"] for answer in predict(model, tokenizer, QUESTIONS[:3])
    ]


def test_shipped_code_loads_the_compact_model_without_hf_rnn(tmp_path):
    source = save_random_model(tmp_path / "model", "gru", embedding_dim=16)
    compact_model(source, tmp_path / "out", pca_dims=8)
    script = """
import json, sys
sys.modules["hf_rnn"] = None
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
model = AutoModelForSequenceClassification.from_pretrained(sys.argv[1], trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
with torch.inference_mode():
    logits = model(**tokenizer(json.loads(sys.argv[2]), padding=True, return_tensors="pt")).logits
print(json.dumps({"module": type(model).__module__, "dtype": str(model.dtype), "logits": logits.tolist()}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "out"), json.dumps(QUESTIONS)],
        env=subprocess_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    child = json.loads(result.stdout.strip().splitlines()[-1])
    assert not child["module"].startswith("hf_rnn") and child["dtype"] == "torch.float32"
    model, tokenizer = load_classifier(tmp_path / "out")
    expected = logits(model, padded(tokenizer, QUESTIONS, "right"))
    assert torch.allclose(torch.tensor(child["logits"]), expected, atol=1e-5)


@pytest.mark.parametrize("tokenizer_type", ["word", "wordpiece"])
def test_pruned_vocabulary_gives_the_same_tokens_and_logits(tokenizer_type, tmp_path):
    tokenizer = train_tokenizer(tiny_questions() + ["Completely unrelated words about zebras and xylophones ."],
                                tokenizer_type=tokenizer_type, vocab_size=400)  # fmt: skip
    source = save_random_model(tmp_path / "model", "lstm", tokenizer=tokenizer)
    summary = compact_model(source, tmp_path / "out", pca_dims=0, embedding_dtype="float32",
                            prune_vocabulary_to=TINY_FILE)  # fmt: skip
    assert summary["vocab_size"] < summary["original_vocab_size"] == len(tokenizer)
    pruned = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert len(pruned) == summary["vocab_size"] == load_classifier(tmp_path / "out")[0].config.vocab_size
    for text in tiny_questions():
        assert pruned.tokenize(text) == tokenizer.tokenize(text)
    unseen = "zebras"  # a word of the letters of the file that the file lacks
    assert unseen not in " ".join(tiny_questions()).lower() and set(unseen) <= set(" ".join(tiny_questions()))
    if tokenizer_type == "wordpiece":  # cut into pieces of its letters, not read as [UNK]
        assert len(pruned.tokenize(unseen)) > 1 and pruned.unk_token_id not in pruned(unseen)["input_ids"]
    else:
        assert unseen in tokenizer.get_vocab() and pruned(unseen)["input_ids"] == [pruned.unk_token_id]
    assert max_difference(source, tmp_path / "out", tiny_questions()) <= 1e-5
    assert summary["max_abs_logit_difference"] <= 1e-5 and summary["probe_texts"] == len(tiny_questions())


def test_pruning_a_bert_tokenizer_renumbers_its_special_tokens(minilm_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir, model_input_names=["input_ids", "attention_mask"])
    source = save_random_model(tmp_path / "model", "gru", tokenizer=tokenizer, embedding_dim=8, hidden_size=4,
                               unk_token_id=tokenizer.unk_token_id)  # fmt: skip
    texts = tmp_path / "questions.txt"
    texts.write_text("\n".join(tiny_questions()) + "\n", encoding="utf-8")
    summary = compact_model(source, tmp_path / "out", pca_dims=0, embedding_dtype="float32", prune_vocabulary_to=texts)
    assert summary["vocab_size"] < 2000 < summary["original_vocab_size"]
    model, pruned = load_classifier(tmp_path / "out")
    assert model.config.unk_token_id == pruned.unk_token_id != tokenizer.unk_token_id
    for text in tiny_questions()[:20]:
        assert pruned.convert_ids_to_tokens(pruned(text)["input_ids"]) == tokenizer.convert_ids_to_tokens(
            tokenizer(text)["input_ids"]
        )  # [CLS] ... [SEP] included, renumbered in the post-processor
    assert summary["max_abs_logit_difference"] <= 1e-5


def test_compact_command_end_to_end(tmp_path):
    train(
        ModelArguments(model_type="lstm", embedding_dim=16, hidden_size=16),
        DataArguments(train_file=str(TINY_FILE), validation_fraction=0.2, test_fraction=0.2),
        RecurrentTrainingArguments(
            output_dir=str(tmp_path / "model"), num_train_epochs=2, learning_rate=1e-2, seed=0, report_to="none",
            disable_tqdm=True,
        ),
    )  # fmt: skip
    summary = run_cli("compact", "--model_name_or_path", str(tmp_path / "model"), "--output_dir",
                      str(tmp_path / "out"), "--pca_dims", "8", "--prune_vocabulary_to", str(TINY_FILE))  # fmt: skip
    out = tmp_path / "out"
    assert summary["embedding_dim"] == 8 and summary["embedding_dtype"] == "float16"
    assert summary["weights_bytes"] < summary["original_weights_bytes"]
    assert json.loads((out / SUMMARY_FILENAME).read_text()) == summary
    names = {path.name for path in out.iterdir()}
    assert {"config.json", "model.safetensors", "configuration_hf_rnn.py", "modeling_hf_rnn.py", "tokenizer.json",
            "tokenizer_config.json", "README.md", "results.json", "training_curve.png",
            "confusion_matrix.png"} <= names  # fmt: skip
    assert not any(name.startswith(".compact-") for name in names)
    assert "## Compact model" in (out / "README.md").read_text()
    results = json.loads((out / "results.json").read_text())
    assert results["hyperparameters"]["embedding_dim"] == 8
    evaluated = run_cli("evaluate", "--model_name_or_path", str(out), "--test_file", str(TINY_FILE))
    assert 0 <= evaluated["accuracy"] <= 1 and evaluated["n"] == len(tiny_questions())
    assert run_cli("predict", "--model_name_or_path", str(out), "Who wrote Hamlet ?")["label"] in model_labels(out)
    again = run_cli("compact", "--model_name_or_path", str(out), "--output_dir", str(tmp_path / "again"),
                    "--pca_dims", "0", "--prune_vocabulary_to", "none")  # fmt: skip
    assert again["vocab_size"] == summary["vocab_size"] and again["vocabulary_pruned_to"] is None


def cli_error(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["compact", *argv])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hf-rnn compact: error: "), lines  # checked before loading
    return exit_info.value.code, lines[0]


def test_one_line_errors(minilm_dir, tmp_path, capsys):
    source = save_random_model(tmp_path / "model")
    capsys.readouterr()
    status, message = cli_error(capsys, "--model_name_or_path", str(minilm_dir), "--output_dir", str(tmp_path / "x"))
    assert status == 1 and "not an hf_rnn model" in message
    status, message = cli_error(capsys, "--model_name_or_path", str(tmp_path), "--output_dir", str(tmp_path / "x"))
    assert status == 1 and "config.json: missing" in message
    status, message = cli_error(capsys, "--model_name_or_path", str(source), "--output_dir", str(tmp_path / "x"),
                                "--pca_dims", "17")  # fmt: skip
    assert status == 1 and message.endswith(f"pca_dims 17 is larger than the embedding width 16 of {source}.")
    status, message = cli_error(capsys, "--model_name_or_path", str(source), "--output_dir", str(tmp_path / "x"),
                                "--pca_dims", "-1")  # fmt: skip
    assert status == 2 and "--pca_dims must be 0 or more" in message
    status, message = cli_error(capsys, "--model_name_or_path", str(source), "--output_dir", str(source))
    assert status == 1 and "is the model directory" in message
    status, message = cli_error(capsys, "--model_name_or_path", str(source), "--output_dir", str(tmp_path / "x"),
                                "--prune_vocabulary_to", str(tmp_path / "missing.txt"))  # fmt: skip
    assert status == 1 and "no such file" in message
    assert not (tmp_path / "x").exists()
    with pytest.raises(ModelLoadError):
        compact_model(minilm_dir, tmp_path / "x")
    rnn = save_random_model(tmp_path / "rnn", "rnn", bidirectional=False, embedding_dim=16, hidden_size=4)
    with pytest.raises(CompactError, match="more than the 4 input units"):
        compact_model(rnn, tmp_path / "x", pca_dims=8, pca_basis="first_layer")
