"""`shipper run`'s configuration: what it accepts, and errors that name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper.outputs.config import ElasticsearchOutputConfig, FileOutputConfig
from shipper.run.config import ConfigError, load_config
from tests.conftest import ROOT


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shipper.yml"
    path.write_text(text)
    return path


def test_the_example_config_is_valid(monkeypatch):
    monkeypatch.setenv("ES_URL", "http://127.0.0.1:9200")
    loaded = load_config(ROOT / "examples" / "shipper.yml")
    assert isinstance(loaded.output, ElasticsearchOutputConfig)
    assert loaded.output.hosts == ["http://127.0.0.1:9200"]
    assert loaded.inputs is not None and loaded.inputs[0].paths == [str(ROOT / "samples/*/*.log")]
    assert loaded.registry.path == ROOT / ".shipper" / "registry.json"
    assert loaded.start_position == "beginning"


def test_defaults_follow_the_usual_locations(tmp_path):
    loaded = load_config(config(tmp_path, "output: {stdout: true}\n"))
    paths = [p for item in loaded.effective_inputs() for p in item.paths]
    for expected in ("/var/log/maillog", "/var/log/mail.log", "/var/log/secure", "/var/log/auth.log",
                     "/var/log/exim4/mainlog", "/var/log/qmail/current", "/var/log/zimbra.log",
                     "/opt/zimbra/log/mailbox.log"):  # fmt: skip
        assert expected in paths
    assert loaded.scan_interval == 1.0 and loaded.partial_line_timeout == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inputs: []\n", "output: Field required"),
        ("output: {stdout: true}\nscan_interval: soon\n", "scan_interval: expected a duration"),
        ("output: {stdout: true}\nstart_position: middle\n", "start_position: Input should be 'beginning' or 'end'"),
        ("output: {stdout: true}\nregistery: {}\n", "registery: unknown key (misspelt?)"),
        ("output: {stdout: true, file: {path: x}}\n", "output: expected exactly one of"),
        ("output: {elasticsearch: {hosts: [h], namespace: Prod-1}}\n", "output.elasticsearch.namespace"),
        ("output: {stdout: true}\ninputs: [{paths: [/x], source: nosuch}]\n", "inputs[0].source: unknown source"),
        ("output: {stdout: true}\ntimezone: Mars/Base\n", "timezone"),
        ("output: {stdout: true}\ninputs: [{paths: []}]\n", "inputs[0].paths"),
        ("output: {elasticsearch: {hosts: ['${NOPE_NOT_SET}']}}\n", "output.elasticsearch.hosts[0]: environment"),
        ("output: [\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping"),
        ("output: {elasticsearch: {hosts: [h], fingerprint: '00:11'}}\n", "fingerprint: expected a SHA-256"),
        (
            "output: {stdout: true}\ninputs: [{type: syslog, listen: [ftp://h:1]}]\n",
            "inputs[0].listen: expected udp://HOST:PORT",
        ),
        ("output: {stdout: true}\ninputs: [{type: syslog, listen: ['tls://h:1']}]\n", "needs `tls:"),
        (
            "output: {stdout: true}\n"
            "inputs: [{type: syslog, listen: ['tcp://h:1'], spool: {path: s, max_size: lots}}]\n",
            "inputs[0].spool.max_size",
        ),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path, text, message):
    path = config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_relative_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    loaded = load_config(config(tmp_path, "output: {file: {path: out/e.ndjson}}\ninputs: [{paths: [logs/*.log]}]\n"
                                          "registry: {path: state/r.json}\n"))  # fmt: skip
    assert loaded.inputs is not None and loaded.inputs[0].paths == [str(tmp_path / "logs/*.log")]
    assert loaded.registry.path == tmp_path / "state/r.json"
    assert isinstance(loaded.output, FileOutputConfig) and loaded.output.path == tmp_path / "out/e.ndjson"


def test_environment_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIPPER_TEST_HOST", raising=False)
    text = "output: {elasticsearch: {hosts: ['${SHIPPER_TEST_HOST:-http://localhost:9200}']}}\n"
    assert load_config(config(tmp_path, text)).output.hosts == ["http://localhost:9200"]
    monkeypatch.setenv("SHIPPER_TEST_HOST", "https://es.example.net:9200")
    assert load_config(config(tmp_path, text)).output.hosts == ["https://es.example.net:9200"]


def test_unreadable_or_binary_files_are_reported(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yml")
    binary = tmp_path / "b.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


@pytest.mark.parametrize(
    "text",
    [
        "output: {elasticsearch: {hosts: 'https://elastic:Pa55 w/rd@es.example:9200'}}\n",  # a scalar, not a list
        "output: {elasticsearch: {hosts: ['https://elastic:Pa55 w/rd@es.example:9200'], batch_size: many}}\n",
        "output: {elasticsearch: {username: {name: 'Pa55 w/rd'}, hosts: [h]}}\n",
        "output: {stdout: true}\nhost_name: ['https://elastic:Pa55 w/rd@es.example:9200']\n",
    ],
)
def test_config_errors_never_echo_credentials(tmp_path, text):
    with pytest.raises(ConfigError) as caught:
        load_config(config(tmp_path, text))
    assert "Pa55" not in str(caught.value) and "w/rd" not in str(caught.value)


def test_a_syslog_inputs_files_are_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    text = ("output: {stdout: true}\ninputs: [{type: syslog, listen: ['tls://127.0.0.1:6514'],"
            " tls: {certificate: c.pem, key: k.pem}, spool: {path: spool}}]\n")  # fmt: skip
    loaded = load_config(config(tmp_path, text))
    (syslog,) = loaded.syslog_inputs()
    assert syslog.spool is not None and syslog.spool.path == tmp_path / "spool"
    assert syslog.tls is not None and syslog.tls.certificate == tmp_path / "c.pem"
    assert loaded.effective_inputs() == []  # no files followed


def test_without_inputs_a_host_with_no_usual_file_reads_the_journal(tmp_path, monkeypatch):
    loaded = load_config(config(tmp_path, "output: {stdout: true}\n"))
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/journalctl")
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    (journal,) = loaded.journald_inputs()
    assert "postfix@-.service" in journal.units and "dovecot.service" in journal.units
    monkeypatch.setattr("glob.glob", lambda pattern: ["/var/log/mail.log"] if "mail.log" in pattern else [])
    assert loaded.journald_inputs() == []  # the usual files are there: they are followed, not the journal


def test_geoip_databases_are_relative_to_the_config_file_and_checked(tmp_path):
    from tests.enrich.test_geoip import CITY, write_db

    write_db(tmp_path / "city.mmdb", "GeoLite2-City", {"81.2.69.0/24": CITY})
    config = tmp_path / "shipper.yml"
    config.write_text("output: {file: {path: out.ndjson}}\ngeoip: {database: city.mmdb}\n")
    loaded = load_config(config)
    assert loaded.geoip is not None and loaded.geoip.database == [str(tmp_path / "city.mmdb")]
    (tmp_path / "bad.mmdb").write_text("no")
    config.write_text("output: {file: {path: out.ndjson}}\ngeoip: {database: [city.mmdb, bad.mmdb]}\n")
    with pytest.raises(ConfigError, match=r"shipper.yml: geoip.database: .*bad.mmdb: not a readable MaxMind"):
        load_config(config)
