"""The linkage model on Apache Spark (issue 4 item 6): Splink's Spark backend for a region or the
nation, where the person index is tens of millions of records.

The model is the same one: the comparisons are rendered for Spark SQL by `model._Level`, and the
parameters (λ, every level's m and u) are those estimated on DuckDB, copied onto the Spark linker
(`model.apply_parameters`), so Spark predicts and clusters exactly what DuckDB would. PySpark is
an optional dependency (`pip install 'safehub[spark]'`) and needs Java 17 or later.

On one machine `local[2]` runs Spark inside the command. On a cluster, name its master
(`--spark-master spark://host:7077`, `yarn`, `k8s://…`), or run the command under `spark-submit`,
which sets the master itself.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import shutil
import tempfile
import uuid
from typing import Any

import pyarrow as pa

LOCAL_MASTER = "local[2]"


def spark_unavailable() -> str | None:
    """Why Spark cannot run here, or None when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'safehub[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        return "Java is not installed (Spark needs Java 17 or later on PATH or in JAVA_HOME)"
    return None


def spark_session(
    master: str | None = None,
    *,
    driver_memory: str = "1g",
    shuffle_partitions: int = 2,
    checkpoint_dir: str | None = None,
) -> Any:
    """A Spark session with Splink's similarity functions (Jaro-Winkler, Damerau-Levenshtein:
    a jar shipped inside Splink) and no web UI. `master=None` keeps the master that spark-submit
    gave, or starts a local Spark on two cores (`local[2]`), with a small heap and few shuffle
    partitions."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # running under spark-submit
    if not master and not submitted:
        master = LOCAL_MASTER
    builder = SparkSession.builder.appName("safehub-linkage")
    if master:
        builder = builder.master(master)
    scratch = checkpoint_dir or tempfile.mkdtemp(prefix="safehub-spark-")
    if not checkpoint_dir:
        # Splink's intermediate tables: hundreds of megabytes for 100,000 records.
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    builder = (
        builder.config("spark.jars", similarity_jar_location())
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "warehouse"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if master and master.startswith("local"):
        # Sized for one small machine; a cluster's own settings (spark-submit, spark-defaults)
        # are left alone.
        builder = (
            builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.default.parallelism", str(shuffle_partitions))
            .config("spark.driver.memory", driver_memory)
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # Splink writes its intermediate tables as parquet under the checkpoint directory; on a
    # cluster it must be storage that every executor reaches (HDFS, S3): spark-submit's
    # `--conf spark.checkpoint.dir=hdfs:///…` is kept, a local temporary folder is the default.
    configured = spark.sparkContext.getConf().get("spark.checkpoint.dir")
    spark.sparkContext.setCheckpointDir(checkpoint_dir or configured or scratch)
    return spark


def spark_linker(
    rows: list[dict[str, Any]] | pa.Table,
    settings: Any,
    parameters: dict[str, Any],
    *,
    spark: Any,
) -> Any:
    """A Splink linker on Spark over model rows (dicts, or an Arrow table of `model.SCHEMA`),
    with the broad blocking rules' flags and the model's trained parameters."""
    from splink import Linker
    from splink.backends.spark import SparkAPI

    from safehub.people import model

    logging.getLogger("py4j").setLevel(logging.WARNING)
    # Splink writes each intermediate table as parquet under the checkpoint directory (its
    # default), which keeps the driver's memory bounded: persisting them in memory instead ran
    # out of a 1 GB heap on FEBRL4.
    db_api = SparkAPI(spark_session=spark, num_partitions_on_repartition=spark_partitions(spark))
    if not isinstance(rows, pa.Table):
        rows = pa.Table.from_pylist(rows, schema=model.SCHEMA)
    table = model.block_flags_arrow(rows)
    # Written once to the checkpoint directory and read back, so that Splink's queries read
    # parquet rather than carrying the records inside every query plan (which ran a 2 GB driver
    # out of memory on 100,000 records); registered under a name of its own, so that one session
    # links more than once.
    name = f"safehub_people_{uuid.uuid4().hex}"
    path = os.path.join(_checkpoint_dir(spark), name)
    spark.createDataFrame(table).write.parquet(path)
    sdf = db_api.register(spark.read.parquet(path), dataset_display_name="people", table_name=name)
    linker = Linker(sdf, settings, log_level=None)
    model.apply_parameters(linker, parameters)
    return linker


def spark_predict_cluster(
    table: pa.Table,
    splink_settings: dict[str, Any],
    *,
    review: float,
    auto_link: float,
    master: str | None = None,
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """`services.predict_cluster` on Spark: the pairs of model rows (an Arrow table of
    `model.SCHEMA`) at or above `review`, and each record's cluster at `auto_link`.

    A stored model's `splink_settings` were saved by DuckDB (its SQL is DuckDB's), so they are
    not run as they are: the linker is built from the model's own comparisons rendered for Spark
    (those of the optional columns the stored model has) with today's blocking rules
    (`model.prediction_rules`, as `model.prediction_settings` gives DuckDB), and the stored λ,
    m and u are copied onto it (`model.apply_parameters`)."""
    from safehub.people import model

    stored = {str(c["output_column_name"]) for c in splink_settings["comparisons"]}
    built = {str(c.create_output_column_name()) for c in model.safehub_comparisons(columns=stored)}
    if built != stored:
        # apply_parameters checks the comparisons the linker has; one only the stored model has
        # would silently be left out here and counted on DuckDB.
        raise ValueError(
            "model: the stored model's comparisons are not this model's "
            f"(stored: {sorted(stored)}; here: {sorted(built)})"
        )
    settings = model.safehub_settings(retain_columns=False, columns=stored)
    linker = spark_linker(table, settings, splink_settings, spark=spark_session(master))
    predictions = linker.inference.predict(threshold_match_probability=review, warning_mode="never")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=auto_link
    )
    # Splink's own table names: no input in this SQL.
    found = spark_fetch(
        linker,
        f"SELECT unique_id_l, unique_id_r FROM {predictions.physical_name}",  # noqa: S608
    )
    members = spark_fetch(
        linker,
        f"SELECT unique_id, cluster_id FROM {clustered.physical_name}",  # noqa: S608
    )
    pairs = [
        (str(a), str(b))
        for a, b in zip(
            found.column("unique_id_l").to_pylist(),
            found.column("unique_id_r").to_pylist(),
            strict=True,
        )
    ]
    clusters = {
        str(uid): str(cid)
        for uid, cid in zip(
            members.column("unique_id").to_pylist(),
            members.column("cluster_id").to_pylist(),
            strict=True,
        )
    }
    return pairs, clusters


def _checkpoint_dir(spark: Any) -> str:
    return str(spark.sparkContext._jsc.sc().getCheckpointDir().get())


def spark_partitions(spark: Any) -> int:
    return int(spark.conf.get("spark.sql.shuffle.partitions", "200"))


def spark_fetch(linker: Any, sql: str) -> pa.Table:
    return linker._db_api.spark.sql(sql).toArrow()
