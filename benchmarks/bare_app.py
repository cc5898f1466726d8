"""The baseline for the load benchmark: an aiohttp app that only reads the body, decodes JSON, answers JSON."""

import sys
from decimal import Decimal

import msgspec
from aiohttp import web

decoder = msgspec.json.Decoder(float_hook=Decimal)
encoder = msgspec.json.Encoder()


async def answer(request: web.Request) -> web.Response:
    data = decoder.decode(await request.read())
    body = {"_responseCode": 1, "transactionId": "1", "balance": 1000, "currency": "EUR", "betId": data.get("betId")}
    return web.Response(body=encoder.encode(body), content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/sessions/{sessionId}/bets/{endpoint}", answer)
    app.router.add_get("/__admin/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
