"""source.geo.* and source.as.* from MaxMind-format databases, written here by mmdb-writer (MaxMind's format,
the layouts of GeoLite2 City and ASN)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from shipper.enrich.geoip import GeoIp, GeoIpError
from tests.conftest import ROOT

CITY = {
    "city": {"names": {"en": "London"}},
    "continent": {"code": "EU", "names": {"en": "Europe"}},
    "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
    "location": {"latitude": 51.5142, "longitude": -0.0931, "time_zone": "Europe/London"},
    "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
}
ASN = {"autonomous_system_number": 20712, "autonomous_system_organization": "Andrews & Arnold Ltd"}


def write_db(path: Path, kind: str, networks: dict[str, dict]) -> Path:
    writer = MMDBWriter(ip_version=6, database_type=kind, ipv4_compatible=True)
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("geoip")
    return [write_db(tmp / "city.mmdb", "GeoLite2-City", {"81.2.69.0/24": CITY, "2a02:8010::/32": CITY}),
            write_db(tmp / "asn.mmdb", "GeoLite2-ASN", {"81.2.69.0/24": ASN})]  # fmt: skip


def test_city_and_asn_databases_give_ecs_geo_and_as(databases):
    geo = GeoIp(databases)
    doc = {"source": {"ip": "81.2.69.160"}}
    geo.enrich(doc)
    assert doc["source"] == {
        "ip": "81.2.69.160",
        "geo": {"country_iso_code": "GB", "country_name": "United Kingdom", "city_name": "London",
                "continent_name": "Europe", "continent_code": "EU", "region_name": "England",
                "region_iso_code": "GB-ENG", "location": {"lat": 51.5142, "lon": -0.0931},
                "timezone": "Europe/London"},
        "as": {"number": 20712, "organization": {"name": "Andrews & Arnold Ltd"}},
    }  # fmt: skip
    v6 = {"source": {"ip": "2a02:8010::1"}}
    geo.enrich(v6)
    assert v6["source"]["geo"]["city_name"] == "London" and "as" not in v6["source"]


def test_private_unknown_and_missing_addresses_are_left_alone(databases):
    geo = GeoIp(databases)
    for doc in ({"source": {"ip": "192.168.1.5"}}, {"source": {"ip": "8.8.8.8"}}, {"source": {"domain": "x"}}, {}):
        before = json.dumps(doc, sort_keys=True)
        geo.enrich(doc)
        assert json.dumps(doc, sort_keys=True) == before


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    bad = tmp_path / "not.mmdb"
    bad.write_bytes(b"nothing here")
    with pytest.raises(GeoIpError, match="not a readable MaxMind database"):
        GeoIp([bad])
    done = subprocess.run([sys.executable, "-m", "shipper", "ingest", "samples/postfix/mail.log", "-o", "-",
                           "--geoip", str(bad)], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_ingest_geoip_fills_the_events_of_a_client_it_knows(databases, tmp_path):
    log = tmp_path / "mail.log"
    log.write_text("Nov 28 10:00:00 mx postfix/smtpd[1]: connect from unknown[81.2.69.160]\n"
                   "Nov 28 10:00:01 mx postfix/smtpd[1]: connect from localhost[127.0.0.1]\n")  # fmt: skip
    args = ["ingest", str(log), "-o", "-", "--timezone", "UTC", "--reference-date", "2026-11-28"]
    for db in databases:
        args += ["--geoip", str(db)]
    done = subprocess.run([sys.executable, "-m", "shipper", *args], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["source"]["geo"]["country_iso_code"] == "GB" and first["source"]["as"]["number"] == 20712
    assert "geo" not in second["source"]
    from shipper.schema.contract import contract_errors

    assert contract_errors(first) == []
