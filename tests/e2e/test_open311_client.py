"""A third-party Open311 client from PyPI (`georeport`) against the running server, as another system would use it:
discovery, services, a service definition, requests in JSON and XML. The client cannot post, so the request it
reads is posted with plain `requests`, form-encoded with an API key, as such clients do."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from georeport import GeoReport

from backend.settings import Settings
from tests.e2e.conftest import LiveServer, run_async
from tests.factories import TenantFixture
from tests.integration.open311.test_open311 import make_key

_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def localhost_names() -> Iterator[None]:
    """``<town>.localhost`` reaches this machine, as browsers and systemd's resolver do (Python's does not here)."""

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return _getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", resolve)
        yield


def test_the_georeport_client_reads_what_rathaus_serves(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, localhost_names: None
) -> None:
    discovery = requests.get(live_server.url(e2e_tenant, "/open311/discovery.json"), timeout=30).json()
    root = discovery["endpoints"][0]["url"]
    assert root == live_server.url(e2e_tenant, "/open311/v2")

    key = run_async(make_key(settings, e2e_tenant, ["read", "write"]))
    posted = requests.post(
        f"{root}/requests.json",
        data={
            "service_code": "street-light",
            "lat": "52.52",
            "long": "13.405",
            "attribute[what]": "Die Laterne ist dunkel.",
            "attribute[kind]": "dark",
            "api_key": key,
            "jurisdiction_id": e2e_tenant.slug,
        },
        timeout=30,
    )
    assert posted.status_code == 201, posted.text
    reference = posted.json()[0]["service_request_id"]

    for output_format in ("json", "xml"):
        client = GeoReport(root, jurisdiction=e2e_tenant.slug, api_key=key, output_format=output_format)
        services = client.get_service_list()
        service = services[0] if isinstance(services, list) else services
        assert service["service_code"] == "street-light"
        definition = client.get_service_definition("street-light")
        assert definition["service_code"] == "street-light"
        assert definition["attributes"]
        found = client.get_service_requests(service_code="street-light", status="open")
        found = found if isinstance(found, list) else [found]
        assert [r["service_request_id"] for r in found] == [reference]
        one = client.get_service_request(reference)
        assert one["service_request_id"] == reference and one["status"] == "open"
        if output_format == "json":  # the client cannot read an empty XML list (<service_requests/>)
            assert client.get_service_requests(status="closed") == []

    wrong = GeoReport(root, jurisdiction="elsewhere")
    with pytest.raises(requests.HTTPError) as refused:
        wrong.get_service_list()
    assert refused.value.response.status_code == 404
    assert refused.value.response.json()[0]["code"] == 404
