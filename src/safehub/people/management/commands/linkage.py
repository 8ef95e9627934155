"""`safehub linkage evaluate | train | generate | febrl4` (spec/person-records.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.people.records import ParsedRecords, RecordsError, read_records, read_truth


class Command(BaseCommand):
    help = (
        "Person linkage: evaluate a records file against its truth, train and store the model, "
        "write synthetic person records (generate) or FEBRL4 converted (febrl4)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        evaluate = sub.add_parser(
            "evaluate", help="Link a records file as a deduplication task and measure it."
        )
        evaluate.add_argument("--records", type=Path, required=True, metavar="R.csv")
        evaluate.add_argument("--truth", type=Path, required=True, metavar="T.csv")
        evaluate.add_argument("--json", action="store_true", help="Print one JSON object.")
        evaluate.add_argument(
            "--baseline",
            action="store_true",
            help="Plain Splink comparisons instead of safehub's, for contrast.",
        )

        train = sub.add_parser("train", help="Estimate the model and store it as JSON.")
        train.add_argument("--records", type=Path, required=True, metavar="R.csv")
        train.add_argument("-o", "--output", type=Path, default=Path("model.json"))

        generate = sub.add_parser("generate", help="Synthetic person records with a truth file.")
        generate.add_argument("--people", type=int, required=True, metavar="N")
        generate.add_argument("--seed", type=int, default=1)
        generate.add_argument("-o", "--output", type=Path, required=True, metavar="people.csv")
        generate.add_argument("--truth", type=Path, required=True, metavar="truth.csv")

        febrl = sub.add_parser("febrl4", help="FEBRL4 as person records (no soc_sec_id).")
        febrl.add_argument("-o", "--output", type=Path, required=True, metavar="records.csv")
        febrl.add_argument("--truth", type=Path, required=True, metavar="truth.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"_{action}")(options)
        except RecordsError as exc:
            raise CommandError(str(exc)) from None

    def _read(self, path: Path) -> ParsedRecords:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        parsed = read_records(path)
        for warning in parsed.warnings:
            self.stderr.write(f"warning: {warning}")
        if parsed.bad_dates:
            self.stderr.write(
                f"warning: {parsed.bad_dates} date(s) of birth not in an accepted form, "
                "treated as unknown"
            )
        if len(parsed.records) < 2:
            raise CommandError(f"{path}: at least two records are needed to link")
        return parsed

    def _evaluate(self, options: dict[str, Any]) -> None:
        from safehub.people import model
        from safehub.people.evaluation import evaluate

        parsed = self._read(options["records"])
        if not options["truth"].is_file():
            raise CommandError(f"{options['truth']}: no such file")
        truth = read_truth(options["truth"], [r.record_id for r in parsed.records])
        settings = model.baseline_settings() if options["baseline"] else None
        result = evaluate(parsed, truth, settings=settings)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
            return
        self.stdout.write(
            f"{result.records} records, {result.candidate_pairs} candidate pairs scored; "
            + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
        )
        self.stdout.write(f"{'threshold':>10} {'precision':>10} {'recall':>10} {'F1':>10}")
        for row in result.thresholds:
            self.stdout.write(
                f"{row['threshold']:>10} {row['precision']:>10.4f} {row['recall']:>10.4f} "
                f"{row['f1']:>10.4f}"
            )
        c = result.clusters
        self.stdout.write(
            f"best: threshold {result.best['threshold']}, F1 {result.best['f1']:.4f}; clusters "
            f"at that threshold: precision {c['precision']:.4f}, recall {c['recall']:.4f}, "
            f"F1 {c['f1']:.4f}"
        )

    def _train(self, options: dict[str, Any]) -> None:
        from safehub.people.evaluation import train_model, write_model

        path: Path = options["records"]
        parsed = self._read(path)
        document = train_model(parsed, source_path=path)
        write_model(document, options["output"])
        self.stdout.write(
            f"Trained on {len(parsed.records)} records of {path}; model written to "
            f"{options['output']}."
        )

    def _generate(self, options: dict[str, Any]) -> None:
        from safehub.people.generator import people_generate

        if options["people"] < 0:
            raise CommandError("--people must be 0 or more")
        written = people_generate(
            options["people"], options["seed"], options["output"], options["truth"]
        )
        self.stdout.write(
            f"Wrote {written} person records to {options['output']} and their truth to "
            f"{options['truth']}."
        )

    def _febrl4(self, options: dict[str, Any]) -> None:
        from safehub.people.febrl import febrl4_write

        try:
            written = febrl4_write(options["output"], options["truth"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Wrote {written} FEBRL4 records to {options['output']} and their truth to "
            f"{options['truth']}."
        )
