"""The worker's minute sweep runs every scheduled sweep and books the next one."""

import pytest
from django_tasks_db.models import DBTaskResult

from safehub.core.outbox import sweep


@pytest.mark.django_db
def test_the_sweep_runs_each_scheduled_sweep_and_comes_back(settings):
    settings.SAFEHUB_SWEEPS = [
        "safehub.core.outbox.outbox_deliver_due",
        "safehub.encompass.services.encompass_sweep",
        "safehub.timescales.clocks.clocks_sweep",
    ]
    results = sweep.call()
    assert set(results) == set(settings.SAFEHUB_SWEEPS)
    assert "failed" not in results.values()
    assert DBTaskResult.objects.filter(task_path__endswith="sweep").count() == 1


@pytest.mark.django_db
def test_one_failing_sweep_does_not_stop_the_others(settings):
    settings.SAFEHUB_SWEEPS = [
        "safehub.core.testing.no_such_sweep",
        "safehub.timescales.clocks.clocks_sweep",
    ]
    results = sweep.call()
    assert results["safehub.core.testing.no_such_sweep"] == "failed"
    assert results["safehub.timescales.clocks.clocks_sweep"] == "0"
