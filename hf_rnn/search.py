"""Hyperparameter search with `Trainer.hyperparameter_search` (Optuna), scored on the validation split only."""

from __future__ import annotations

import dataclasses
import json
import os

from .command_args import SearchArguments
from .training import build_model, build_trainer, prepare_run, select_metric
from .training_args import DataArguments, ModelArguments, RecurrentTrainingArguments


def training_space(trial) -> dict[str, object]:
    """The training options a trial draws (applied by the Trainer to its `TrainingArguments`)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 3e-4, 5e-3, log=True),
        "per_device_train_batch_size": trial.suggest_categorical("per_device_train_batch_size", [16, 32, 64]),
    }


def model_space(trial, model_args: ModelArguments) -> ModelArguments:
    """`model_args` with the model options a trial draws; unsampled options keep their values."""
    sampled = {
        "embedding_dim": trial.suggest_categorical("embedding_dim", [64, 128, 256]),
        "hidden_size": trial.suggest_categorical("hidden_size", [64, 128, 256]),
        "num_layers": trial.suggest_int("num_layers", 1, 2),
        "bidirectional": trial.suggest_categorical("bidirectional", [False, True]),
        "pooling": trial.suggest_categorical("pooling", ["last", "mean", "max", "attention"]),
        "embedding_dropout": trial.suggest_float("embedding_dropout", 0.0, 0.5),
        "word_dropout": trial.suggest_float("word_dropout", 0.0, 0.2),
        "recurrent_weight_dropout": trial.suggest_float("recurrent_weight_dropout", 0.0, 0.5),
        "classifier_dropout": trial.suggest_float("classifier_dropout", 0.0, 0.5),
        "label_smoothing": trial.suggest_categorical("label_smoothing", [0.0, 0.1, 0.2]),
        "adversarial_epsilon": trial.suggest_categorical("adversarial_epsilon", [0.0, 0.1, 0.2, 0.3]),
    }
    if sampled["num_layers"] > 1:
        sampled["rnn_dropout"] = trial.suggest_float("rnn_dropout", 0.0, 0.5)
    if model_args.embeddings_from is not None:
        sampled.pop("embedding_dim")  # fixed by the pretrained embeddings
    return dataclasses.replace(model_args, **sampled)


def search(
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args: RecurrentTrainingArguments,
    args: SearchArguments,
) -> dict[str, object]:
    """
    Run `args.n_trials` Optuna trials of the architecture `model_args.model_type`, each trained by the Trainer and
    scored by its best validation accuracy (the test split is never evaluated), and write the best trial to
    `output_dir/search_results.json`.

    Returns:
        `dict`: `best_validation_accuracy`, `best_hyperparameters` and every trial's parameters and score.
    """
    try:
        import optuna
    except ImportError:
        raise ImportError('hf-rnn search needs Optuna: pip install "hf_rnn[search]"') from None

    run = prepare_run(model_args, data_args, training_args)
    select_metric(data_args, training_args, run.multi_label)

    def model_init(trial=None):
        trial_args = model_space(trial, model_args) if trial is not None else model_args
        return build_model(
            trial_args, run.tokenizer, run.data, data_args, run.class_weights, run.pretrained_embeddings
        )

    training_args.save_total_limit = 1
    trainer = build_trainer(run, training_args, model_init)
    storage = optuna.storages.InMemoryStorage()
    best = trainer.hyperparameter_search(
        direction="maximize",
        backend="optuna",
        hp_space=training_space,
        n_trials=args.n_trials,
        compute_objective=lambda metrics: metrics[f"eval_{training_args.metric_for_best_model}"],
        sampler=optuna.samplers.TPESampler(seed=args.search_seed),
        storage=storage,
        study_name="hf-rnn-search",
    )
    study = optuna.load_study(study_name="hf-rnn-search", storage=storage)
    study_trials = [
        {"number": trial.number, "validation_accuracy": trial.value, "params": trial.params} for trial in study.trials
    ]
    result = {
        "model_type": model_args.model_type,
        "best_validation_accuracy": best.objective,
        "best_hyperparameters": best.hyperparameters,
        "trials": study_trials,
    }
    os.makedirs(training_args.output_dir, exist_ok=True)
    with open(os.path.join(training_args.output_dir, "search_results.json"), "w") as handle:
        json.dump(result, handle, indent=2)
    return result
