"""The HTTP clients a test world keeps for the front door, one per API key, closed when the world ends."""

from __future__ import annotations

import httpx


class KeyedClients:
    """Mixed into a test world (a dataclass) that has `url`, `keys` (who → API key) and `clients` (who → client)."""

    url: str
    keys: dict[str, str]
    clients: dict[str, httpx.AsyncClient]

    def client(self, who: str) -> httpx.AsyncClient:
        """An HTTP client holding `who`'s API key (a department code, or `operator`)."""
        if who not in self.clients:
            self.clients[who] = httpx.AsyncClient(
                base_url=self.url, headers={"Authorization": f"Bearer {self.keys[who]}"}, timeout=60
            )
        return self.clients[who]

    async def close_clients(self) -> None:
        for client in self.clients.values():
            await client.aclose()
