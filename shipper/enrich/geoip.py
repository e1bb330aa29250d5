"""`source.geo.*` and `source.as.*` from MaxMind-format databases (GeoLite2/GeoIP2 City, Country and ASN,
DB-IP's, or one's own), read with MaxMind's `maxminddb` reader, as Elasticsearch's geoip processor maps
them. Private, loopback and other non-global addresses are not looked up."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any


class GeoIpError(ValueError):
    """A database that cannot be opened or is not a MaxMind DB."""


def _name(record: dict[str, Any], key: str) -> str | None:
    names = (record.get(key) or {}).get("names") or {}
    value = names.get("en")
    return value if isinstance(value, str) else None


def geo_fields(record: dict[str, Any]) -> dict[str, Any]:
    """ECS `geo` and `as` objects from one database record (City, Country or ASN layout)."""
    geo: dict[str, Any] = {}
    country = record.get("country") or {}
    if country.get("iso_code"):
        geo["country_iso_code"] = country["iso_code"]
    for field, key in (("country_name", "country"), ("city_name", "city"), ("continent_name", "continent")):
        if value := _name(record, key):
            geo[field] = value
    if (record.get("continent") or {}).get("code"):
        geo["continent_code"] = record["continent"]["code"]
    subdivisions = record.get("subdivisions") or []
    if subdivisions:
        region = (subdivisions[0].get("names") or {}).get("en")
        if isinstance(region, str):
            geo["region_name"] = region
        if subdivisions[0].get("iso_code") and country.get("iso_code"):
            geo["region_iso_code"] = f"{country['iso_code']}-{subdivisions[0]['iso_code']}"
    location = record.get("location") or {}
    if isinstance(location.get("latitude"), int | float) and isinstance(location.get("longitude"), int | float):
        geo["location"] = {"lat": location["latitude"], "lon": location["longitude"]}
    if location.get("time_zone"):
        geo["timezone"] = location["time_zone"]
    out: dict[str, Any] = {}
    if geo:
        out["geo"] = geo
    number = record.get("autonomous_system_number")
    if isinstance(number, int):
        out["as"] = {"number": number}
        if record.get("autonomous_system_organization"):
            out["as"]["organization"] = {"name": record["autonomous_system_organization"]}
    return out


class GeoIp:
    """One or more databases (City and ASN are separate files in GeoLite2): each address's fields are the
    union of what they hold, the first database winning where two hold the same field."""

    def __init__(self, paths: list[Path]) -> None:
        import maxminddb  # here: most runs have no database, and the import cost every command 6 ms

        self.readers = []
        for path in paths:
            try:
                self.readers.append(maxminddb.open_database(str(path)))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                raise GeoIpError(f"{path}: not a readable MaxMind database ({exc})") from None
        self.lookup = lru_cache(maxsize=65536)(self._lookup)

    def _lookup(self, address: str) -> dict[str, Any]:
        try:
            if not ipaddress.ip_address(address).is_global:
                return {}
        except ValueError:
            return {}
        found: dict[str, Any] = {}
        for reader in self.readers:
            record = reader.get(address)
            if isinstance(record, dict):
                for key, value in geo_fields(record).items():
                    found[key] = {**value, **found.get(key, {})}
        return found

    def enrich(self, doc: dict[str, Any]) -> None:
        """Give `source` its geo and as objects (in place)."""
        source = doc.get("source")
        address = source.get("ip") if isinstance(source, dict) else None
        if isinstance(address, str):
            found = self.lookup(address)
            if found:
                source.update(found)  # type: ignore[union-attr]

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
