"""Which webhook URLs caseloop calls: https in production, no credentials, and no internal address unless allowed.

A URL is checked twice: when the registry is imported (what the URL itself says) and before every attempt, on the
addresses its host resolves to then. The attempt connects to the address that was checked, so a name that resolves
elsewhere a moment later (DNS rebinding) cannot move the push onto the worker's own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field

import httpx

from activities.gateway.signing import signed_headers
from workers.settings import Environment, Settings, get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HOSTS_SETTING = "CASELOOP_WEBHOOK_ALLOW_HOSTS"

# What a push must not reach unless allowed: the worker's own machine, the cloud's metadata service
# (169.254.169.254) and the internal networks behind the worker; each named as the refusal names it.
_DENIED: tuple[tuple[str, IPNetwork], ...] = tuple(
    (kind, ipaddress.ip_network(network))
    for kind, network in (
        ("unspecified", "0.0.0.0/8"),
        ("loopback", "127.0.0.0/8"),
        ("link-local", "169.254.0.0/16"),
        ("private", "10.0.0.0/8"),
        ("private", "172.16.0.0/12"),
        ("private", "192.168.0.0/16"),
        ("shared (CGNAT)", "100.64.0.0/10"),
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("link-local", "fe80::/10"),
        ("unique-local", "fc00::/7"),
    )
)

_LOOPBACK_NAMES = ("localhost", "localhost.")


class EndpointRefused(Exception):
    """The URL breaks a rule; `rule` says which, in words an operator can act on."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


class EndpointUnresolved(Exception):
    """The host name does not resolve now; a DNS outage passes, so the attempt is retried."""


@dataclass(frozen=True)
class WebhookPolicy:
    https_only: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    reply_max_bytes: int = 64 << 10

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookPolicy:
        hosts, networks = parse_allow_list(settings.webhook_allow_hosts)
        return cls(
            https_only=settings.environment is Environment.PRODUCTION,
            allowed_hosts=hosts,
            allowed_networks=networks,
            reply_max_bytes=settings.webhook_reply_max_bytes,
        )

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks if network.version == address.version)


def current_policy() -> WebhookPolicy:
    return WebhookPolicy.from_settings(get_settings())


def parse_allow_list(text: str) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """`127.0.0.1, 10.20.0.0/16, hooks.internal` into host names and networks (an address is a one-host network)."""
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return frozenset(hosts), tuple(networks)


@dataclass(frozen=True)
class Endpoint:
    """A webhook URL that passed the rules of the URL itself."""

    url: httpx.URL
    host: str  # as sent on the wire: lower case, IDNA-encoded
    port: int
    address: IPAddress | None = field(default=None)  # when the URL names an address instead of a host


@dataclass(frozen=True)
class Destination:
    """Where one attempt goes: the checked addresses, in the resolver's order, and how to name the host to them."""

    endpoint: Endpoint
    addresses: tuple[IPAddress, ...]

    def request_url(self, address: IPAddress) -> httpx.URL:
        return self.endpoint.url.copy_with(host=str(address))

    @property
    def host_header(self) -> str:
        return self.endpoint.url.netloc.decode("ascii")

    @property
    def tls_server_name(self) -> str | None:
        """The name the certificate must carry (and SNI sends); None when the URL names an address."""
        if self.endpoint.url.scheme != "https" or self.endpoint.address is not None:
            return None
        return self.endpoint.host

    def signed_post(self, keys: list[bytes], message_id: str, body: bytes) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and the httpx extensions of one signed JSON POST here: pushes, verifications and pulls."""
        headers = {
            "Content-Type": "application/json",
            # The reply is only digested or read within a bound: compressed, a few bytes could stand for gigabytes.
            "Accept-Encoding": "identity",
            "Host": self.host_header,
            **signed_headers(keys, message_id, str(int(time.time())), body),
        }
        extensions = {}
        if self.tls_server_name is not None:
            # The connection goes to the checked address, the certificate must name the host. Pooled connections
            # are keyed by address, so one made for another host's name must not carry this call.
            extensions["sni_hostname"] = self.tls_server_name
            headers["Connection"] = "close"
        return headers, extensions


def check_url(url: str, policy: WebhookPolicy) -> Endpoint:
    """The rules the URL itself must keep; raises EndpointRefused naming the broken one."""
    if any(character.isspace() or ord(character) < 0x20 or ord(character) == 0x7F for character in url):
        raise EndpointRefused("must not contain spaces or control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:
        raise EndpointRefused(f"is not a valid URL ({error})") from None
    if parsed.scheme not in ("http", "https"):
        raise EndpointRefused("must be an http:// or https:// URL")
    if policy.https_only and parsed.scheme != "https":
        raise EndpointRefused("must be an https:// URL in production")
    if parsed.userinfo:
        raise EndpointRefused("must not carry credentials (user:password@): pushes are signed with the secret")
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise EndpointRefused("names no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise EndpointRefused(f"has a port out of range ({port})")
    address = _address(host)
    if not policy.allows_host(host):
        kind = None if address is None else _denied_unless_allowed(address, policy)
        if kind is not None:
            raise EndpointRefused(f"names a {kind} address ({address}); {_how_to_allow()}")
        elif host.rstrip(".") == "localhost" or host.endswith((".localhost", ".localhost.")):
            raise EndpointRefused(f"names a loopback host ({host}); {_how_to_allow()}")
    return Endpoint(url=parsed, host=host, port=port, address=address)


async def resolve(url: str, policy: WebhookPolicy) -> Destination:
    """The URL checked again, and its host resolved now, every address checked; what the attempt connects to."""
    endpoint = check_url(url, policy)
    if endpoint.address is not None:
        return Destination(endpoint, (endpoint.address,))
    try:
        found = await asyncio.get_running_loop().getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise EndpointUnresolved(f"{endpoint.host} does not resolve ({type(error).__name__})") from None
    addresses = tuple(dict.fromkeys(_unmapped(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in found))
    if not addresses:
        raise EndpointUnresolved(f"{endpoint.host} resolves to no address")
    if not policy.allows_host(endpoint.host):
        for address in addresses:
            kind = _denied_unless_allowed(address, policy)
            if kind is not None:
                raise EndpointRefused(f"resolves to a {kind} address ({endpoint.host} → {address}); {_how_to_allow()}")
    return Destination(endpoint, addresses)


def denied_kind(address: IPAddress) -> str | None:
    """Which denied range the address is in, or None for a public address."""
    address = _unmapped(address)
    for kind, network in _DENIED:
        if network.version == address.version and address in network:
            return kind
    if address.is_multicast:
        return "multicast"
    if not address.is_global:
        return "non-public"
    return None


def _denied_unless_allowed(address: IPAddress, policy: WebhookPolicy) -> str | None:
    kind = denied_kind(address)
    return None if kind is None or policy.allows_address(_unmapped(address)) else kind


def _how_to_allow() -> str:
    return f"list the host in {ALLOW_HOSTS_SETTING} if the department's system really lives there"


def _address(host: str) -> IPAddress | None:
    try:
        return _unmapped(ipaddress.ip_address(host))
    except ValueError:
        return None


def _unmapped(address: IPAddress) -> IPAddress:
    """::ffff:127.0.0.1 is 127.0.0.1 to the kernel, and so to the rules."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
