"""`safehub linkage evaluate | train | load | run | generate | febrl4` (spec/person-records.md,
docs/linkage.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.people.records import ParsedRecords, RecordsError, read_records, read_truth


class Command(BaseCommand):
    help = (
        "Person linkage: evaluate a records file against its truth, train and store the model, "
        "load a partner's file into the person index, re-link the whole index (run), "
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
        evaluate.add_argument(
            "--backend",
            choices=("duckdb", "spark"),
            default="duckdb",
            help="Predict and cluster on DuckDB (in process) or on Spark (the model is "
            "estimated on DuckDB either way; Spark needs the spark extra and Java 17+).",
        )
        evaluate.add_argument(
            "--spark-master",
            metavar="URL",
            help="Spark master (spark://host:7077, yarn, k8s://...); default: the one "
            "spark-submit gives, else local[2].",
        )

        train = sub.add_parser(
            "train",
            help="Estimate the model (from a records file, or from the person index) and store "
            "it as the next active version; -o also writes it as JSON.",
        )
        train.add_argument(
            "--records", type=Path, metavar="R.csv", help="Default: the person index's records."
        )
        train.add_argument("-o", "--output", type=Path, default=None)
        train.add_argument(
            "--no-store", action="store_true", help="Only write the file (-o), not a version."
        )

        load = sub.add_parser("load", help="Load a partner's person-records file into the index.")
        load.add_argument("file", type=Path, metavar="FILE.csv")
        load.add_argument("--source", required=True, metavar="NAME", help="The partner's name.")
        load.add_argument(
            "--rejects", type=Path, metavar="R.csv", help="Write rejected rows and reasons here."
        )
        load.add_argument("--batch-size", type=int, default=1000)

        run = sub.add_parser(
            "run", help="Re-link the whole index and propose changes into clerical review."
        )
        run.add_argument("--batch-size", type=int, default=10000)
        run.add_argument(
            "--rehash",
            action="store_true",
            help="Compute every record's blocking keys and hashes again, even when a sample of "
            "them shows no change (after SAFEHUB_LINKAGE_KEY changed, a sample always does).",
        )
        run.add_argument(
            "--clusters",
            type=Path,
            metavar="C.csv",
            help="Also write the run's clusters at the auto-link band (source, record_id, "
            "cluster), to compare with a truth file or an earlier run.",
        )
        run.add_argument(
            "--backend",
            choices=("duckdb", "spark"),
            default="duckdb",
            help="Predict and cluster on DuckDB (in process) or on Spark (a region's or the "
            "nation's index on a cluster; needs the spark extra and Java 17+).",
        )
        run.add_argument(
            "--spark-master",
            metavar="URL",
            help="Spark master (spark://host:7077, yarn, k8s://...); default: the one "
            "spark-submit gives, else local[2].",
        )

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

    def _read_any(self, path: Path) -> ParsedRecords:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        parsed = read_records(path)
        for warning in parsed.warnings:
            self.stderr.write(f"warning: {warning}")
        return parsed

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
        if options["backend"] == "spark":
            from safehub.people.spark import spark_unavailable

            reason = spark_unavailable()
            if reason:
                raise CommandError(f"--backend spark: {reason}")
        result = evaluate(
            parsed,
            truth,
            settings=settings,
            backend=options["backend"],
            spark_master=options["spark_master"],
        )
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
        import datetime as dt

        import pyarrow as pa

        from safehub.core import clock
        from safehub.people import model
        from safehub.people.evaluation import train_model, write_model
        from safehub.people.features import model_rows
        from safehub.people.services import linkage_model_store, term_frequencies

        path: Path | None = options["records"]
        if path is not None:
            parsed = self._read(path)
            document = train_model(parsed, source_path=path)
            table = pa.Table.from_pylist(model_rows(parsed.records), schema=model.SCHEMA)
            what = f"{len(parsed.records)} records of {path}"
        else:
            table, document = self._train_on_index()
            what = f"{table.num_rows} records of the person index"
        document["term_frequencies"] = term_frequencies(document, table)
        trained = document["trained"]
        trained_on = {
            "records": trained["records"],
            "sources": trained["sources"],
            "sha256": trained["sha256"],
            "from": trained["source"],
            "date": dt.date.fromisoformat(trained["at"][:10]).isoformat(),
            "splink": trained["splink"],
            "command": "safehub linkage train"
            + (f" --records {path.name}" if path is not None else ""),
        }
        done = [f"Trained on {what}"]
        if not options["no_store"]:
            stored = linkage_model_store(
                document=document,
                trained_on=trained_on,
                actor="safehub linkage train",
                now=clock.now(),
            )
            done.append(f"stored as linkage model version {stored.version} (active)")
        if options["output"] is not None:
            write_model(document, options["output"])
            done.append(f"written to {options['output']}")
        elif options["no_store"]:
            raise CommandError("--no-store needs -o FILE: the model would go nowhere")
        self.stdout.write("; ".join(done) + ".")

    def _train_on_index(self) -> tuple[Any, dict[str, Any]]:
        """The model trained on the index's records as `linkage run` reads them (their stored
        model rows, in an Arrow table: no Python object a record); with the table, for the term
        frequencies."""
        import datetime as dt

        import splink
        from splink import DuckDBAPI, Linker

        from safehub.people import model
        from safehub.people.services import index_digest, index_export

        exported = index_export(batch_size=10_000)
        table = exported.table
        if table.num_rows < 2:
            raise CommandError(
                "the person index has fewer than two records: train on a file with --records"
            )
        linker = Linker(
            model.register_table(DuckDBAPI(), table),
            model.safehub_settings(retain_columns=True, columns=model.table_columns_present(table)),
            log_level=None,
        )
        model.train(linker, record_count=table.num_rows)
        return table, {
            "format": model.MODEL_FORMAT,
            "version": model.MODEL_VERSION,
            "trained": {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "records": table.num_rows,
                "source": "person index",
                "sha256": index_digest(exported),
                "sources": sorted({source for source, _ in exported.refs}),
                "splink": splink.__version__,
            },
            "splink_settings": linker.misc.save_model_to_json(),
        }

    def _load(self, options: dict[str, Any]) -> None:
        import csv

        from rich.progress import Progress

        from safehub.core import clock
        from safehub.people.records import COLUMNS
        from safehub.people.services import partner_file_load

        path: Path = options["file"]
        source = options["source"].strip()
        if not source or len(source) > 100:
            raise CommandError("--source: a name of 1 to 100 characters")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        parsed = self._read_any(path)  # the file as a whole: header, ids, quoting
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
            rows = [{c: (row.get(c) or "").strip() for c in COLUMNS if c in row} for row in reader]
        assert len(rows) == len(parsed.records)
        with Progress(transient=True, disable=not self.stdout.isatty()) as bar:
            task = bar.add_task(f"Linking {path.name}", total=len(rows))
            result = partner_file_load(
                rows=rows,
                source=source,
                actor="safehub linkage load",
                now=clock.now(),
                batch_size=options["batch_size"],
                progress=lambda n: bar.advance(task, n),
            )
        for rid, reason in result.rejected[:20]:
            self.stderr.write(f"rejected {rid}: {reason}")
        if len(result.rejected) > 20:
            self.stderr.write(f"... {len(result.rejected) - 20} more rejected rows")
        if options["rejects"] is not None and result.rejected:
            with options["rejects"].open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["record_id", "reasons"])
                writer.writerows(result.rejected)
        b = result.bands
        self.stdout.write(
            f"{path.name} ({source}): {result.rows} rows; {result.loaded} loaded "
            f"({b['auto']} linked to a known person, {b['review']} to clerical review, "
            f"{b['new']} new people; {result.reviews} reviews opened); "
            f"{result.already} already loaded; {len(result.rejected)} rejected."
        )

    def _run(self, options: dict[str, Any]) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from safehub.core import clock
        from safehub.people.services import index_relink

        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        backend = options["backend"]
        if backend == "spark":
            from safehub.people.spark import spark_unavailable

            reason = spark_unavailable()
            if reason:
                raise CommandError(f"--backend spark: {reason}")
        labels = {
            "rehash": "Rehashing blocking keys",
            "export": "Reading the index",
            "predict": "Predicting and clustering (Splink, "
            + ("Spark)" if backend == "spark" else "DuckDB)"),
            "propose": "Scoring and proposing changes",
        }
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            disable=not self.stdout.isatty(),
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(labels[stage], total=total)
                elif total is not None:
                    bar.update(tasks[stage], total=total)
                bar.advance(tasks[stage], done)

            result = index_relink(
                batch_size=options["batch_size"],
                now=clock.now(),
                actor="safehub linkage run",
                progress=progress,
                backend=backend,
                spark_master=options["spark_master"],
                rehash=options["rehash"],
            )
        if options["clusters"] is not None:
            with options["clusters"].open("w", encoding="utf-8", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(["source", "record_id", "cluster"])
                for (source, ref), cluster in sorted(result.clusters.items()):
                    out.writerow([source, ref, cluster])
        self.stdout.write(
            f"{result.records} records; {result.indexed} notifications indexed that were "
            f"missing; "
            + (
                "blocking keys unchanged (a sample checked)"
                if result.rehash_checked
                else f"{result.rehashed} records rehashed"
            )
            + f"; {result.pairs} pairs at or above the "
            f"review band; {result.proposed} clerical reviews opened; {result.linked} records "
            "linked (new and existing evidence agree); "
            + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
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
