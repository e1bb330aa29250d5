"""Connection settings: where secrets come from, that they never show, and clear errors."""

from __future__ import annotations

import pytest

from shipper.elastic.connection import ConnectionSettingsError, EsConnection, redact
from tests.conftest import es_connection

SECRET = "s3cr3t-value-that-must-not-leak"


def everything_printed(connection: EsConnection) -> str:
    return " ".join([repr(connection), str(connection), connection.describe(), connection.model_dump_json()])


def test_password_from_environment_is_used_but_never_shown():
    connection = es_connection(["https://es.example.net:9200"], username="shipper", environ={"ES_PASSWORD": SECRET})
    assert connection.client_options()["basic_auth"] == ("shipper", SECRET)
    assert SECRET not in everything_printed(connection)
    assert connection.verify_certs is True and connection.client_options()["verify_certs"] is True


@pytest.mark.parametrize(
    ("option", "env", "client_key"),
    [("api_key_file", "ES_API_KEY", "api_key"), ("bearer_token_file", "ES_BEARER_TOKEN", "bearer_auth")],
)
def test_tokens_from_files_or_environment(tmp_path, option, env, client_key):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    from_file = es_connection(["https://es:9200"], **{option: secret_file}, environ={})
    from_env = es_connection(["https://es:9200"], environ={env: SECRET})
    for connection in (from_file, from_env):
        assert connection.client_options()[client_key] == SECRET
        assert SECRET not in everything_printed(connection)


def test_user_and_password_in_the_url_are_redacted():
    url = f"https://elastic:{SECRET}@es.example.net:9200"
    connection = es_connection([url], environ={})
    assert SECRET not in connection.describe()
    assert redact(f"error talking to {url}/_bulk") == "error talking to https://***@es.example.net:9200/_bulk"


@pytest.mark.parametrize(
    ("kwargs", "environ", "message"),
    [
        ({"hosts": []}, {}, "no Elasticsearch given"),
        ({"hosts": ["es.example.net:9200"]}, {}, "is not an http:// or https:// URL"),
        ({"hosts": ["http://a:9200"]}, {"ES_PASSWORD": "x"}, "a password needs a user name"),
        ({"hosts": ["http://a:9200"], "username": "u"}, {"ES_PASSWORD": "x", "ES_API_KEY": "y"}, "give one of"),
        ({"hosts": ["http://a:9200"], "cloud_id": "c:abc"}, {}, "not both"),
        ({"hosts": ["http://u:p@a:9200"]}, {"ES_API_KEY": "y"}, "give one of"),
    ],
)
def test_bad_settings_say_what_is_wrong(kwargs, environ, message):
    with pytest.raises(ConnectionSettingsError, match=message) as caught:
        es_connection(**kwargs, environ=environ)
    assert "x" not in str(caught.value).split() and "y" not in str(caught.value).split()


def test_missing_secret_file_names_the_file(tmp_path):
    with pytest.raises(ConnectionSettingsError, match=r"API key file .*nope"):
        es_connection(["http://a:9200"], api_key_file=tmp_path / "nope", environ={})


def test_missing_ca_file_is_refused(tmp_path):
    with pytest.raises(ConnectionSettingsError, match="CA file"):
        es_connection(["https://a:9200"], ca_file=tmp_path / "ca.pem", environ={})


def test_insecure_turns_verification_off_with_a_warning():
    connection = es_connection(["https://a:9200"], insecure=True, environ={})
    assert connection.client_options()["verify_certs"] is False
    with pytest.warns(UserWarning, match="verification is OFF"):
        connection.client()


def test_fingerprint_is_normalised():
    pin = ":".join(["AB"] * 32)
    connection = es_connection(["https://a:9200"], fingerprint=pin, environ={})
    assert connection.client_options()["ssl_assert_fingerprint"] == "ab" * 32


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("00:11", "64 hex digits), got 4"),
        ("ab" * 16, "MD5 or SHA-1"),
        ("AB:" * 19 + "AB", "MD5 or SHA-1"),
        ("zz" * 32, "expected hex digits"),
        ("", "got 0"),
    ],
)
def test_a_pin_that_is_not_sha256_is_refused_in_one_line(pin, message):
    with pytest.raises(ConnectionSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        es_connection(["https://a:9200"], fingerprint=pin, environ={})


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("https://elastic:S3cr3t@pw@es.example.net:9200", "S3cr3t@pw"),  # an @ in the password
        ("https://elastic:my secret pass@es.example.net:9200", "my secret pass"),  # spaces
        ("https://elastic:a/b#c?d@es.example.net:9200", "a/b#c?d"),  # URL delimiters
        ("https://elastic:pw@[2001:db8::1]:9200", "elastic:pw"),
    ],
)
def test_passwords_that_break_url_syntax_are_still_redacted(url, hidden):
    from shipper.elastic.connection import has_credentials

    text = redact(f"cannot use Elasticsearch at {url}/_bulk: refused\nagain {url}")
    assert hidden not in text and text.count("https://***@") == 2 and has_credentials(url)
    with pytest.raises(ConnectionSettingsError) as caught:  # a second method beside the URL's, or a bad URL
        es_connection([url], environ={"ES_API_KEY": "k"})
    assert hidden not in str(caught.value)


def test_a_request_moves_to_another_node_only_on_a_connection_failure():
    one = es_connection(["http://a:9200"], environ={}).client_options()
    three = es_connection(["http://a:9200", "http://b:9200", "http://c:9200"], environ={}).client_options()
    assert one["max_retries"] == 0 and three["max_retries"] == 2
    assert three["retry_on_status"] == () and three["retry_on_timeout"] is False  # 429s and timeouts stay ours
