"""Each pack's tests run with that pack chosen (ALERTFLOW_PACK), on an empty database."""
import pytest

from tests.packs.world import PackWorld

KARBON_USERS = {"sam": ["staff"], "mia": ["manager"], "max": ["manager"], "otto": ["out_of_hours_handler"],
                "eddie": ["executive_director"]}


def _world(monkeypatch, cli, key, users, **kw):
    monkeypatch.setenv("ALERTFLOW_PACK", key)
    return PackWorld(cli, users, **kw)


@pytest.fixture
def karbon(monkeypatch, cli):
    return _world(monkeypatch, cli, "karbon", KARBON_USERS)

DOVER_USERS = {"sam": ["officer"], "olive": ["officer"], "lena": ["manager"], "mike": ["manager"],
               "sue": ["senior_manager"], "hank": ["head_of_housing"], "cara": ["customer_services"]}


@pytest.fixture
def dover(monkeypatch, cli):
    return _world(monkeypatch, cli, "dover", DOVER_USERS)

SHAL_USERS = {"sam": ["staff"], "hugh": ["housing_officer"], "hannah": ["housing_manager"],
              "cathy": ["chief_executive"], "mo": ["maintenance_staff"], "ada": ["maintenance_administrator"]}


@pytest.fixture
def shal(monkeypatch, cli):
    return _world(monkeypatch, cli, "shal", SHAL_USERS)

POLHA_USERS = {"sam": ["staff"], "hugo": ["housing_officer"], "mandy": ["manager"], "oscar": ["operational_manager"],
               "olga": ["operational_manager"], "tom": ["omt_manager"], "dora": ["director"]}


@pytest.fixture
def polha(monkeypatch, cli):
    return _world(monkeypatch, cli, "polha", POLHA_USERS)
