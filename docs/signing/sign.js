// Sign BETCORE wallet requests in Node.js 18+ (built-in crypto and fetch only).
//
//   node sign.js vectors signing.json                          # check the known-answer vectors
//   node sign.js balance http://127.0.0.1:8080 session-eur     # a signed GET
//   node sign.js pay-in http://127.0.0.1:8080 session-eur bet-1 2.50
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');

const COUNTERPARTY_ID = '933a215f-a9e6-4f88-9d91-52a87cd50499'; // yours; these two are the sandbox's demo provider
const SECRET = 'sandbox-secret-key-123';

// The four headers for one request. body: the exact bytes you send, a Buffer (ignored for GET).
function sign(method, body, counterpartyId, secret, timestamp, requestId) {
  const tail = Buffer.from(`${counterpartyId}.${timestamp}.${requestId}`, 'utf8');
  const message = method === 'GET' ? tail : Buffer.concat([body, Buffer.from('.'), tail]);
  return {
    'X-Counterparty-Id': counterpartyId,
    'X-Timestamp': timestamp,
    'X-Request-Id': requestId,
    'X-Sign': crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(message).digest('hex'),
  };
}

// Send one signed request: a fresh timestamp (ms) and request id for every attempt.
async function send(baseUrl, method, path, body = Buffer.alloc(0)) {
  const headers = sign(method, body, COUNTERPARTY_ID, SECRET, String(Date.now()), crypto.randomUUID());
  headers['Content-Type'] = 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, body: method === 'GET' ? undefined : body });
  return response.text(); // a 4xx/5xx still carries the JSON answer
}

function payIn(baseUrl, sessionId, betId, amount) {
  const body = JSON.stringify({ betId, betAmount: amount, gameRoundId: `round-${betId}`, sessionId });
  return send(baseUrl, 'POST', `/v1/sessions/${sessionId}/bets/pay-in`, Buffer.from(body, 'utf8'));
}

function checkVectors(path) {
  let failed = 0;
  for (const c of JSON.parse(fs.readFileSync(path, 'utf8')).cases) {
    const got = sign(c.method, Buffer.from(c.body ?? '', 'utf8'), c.counterpartyId, c.secret, c.timestamp, c.requestId);
    if (got['X-Sign'] === c.xSign) {
      console.log('ok', c.name);
    } else {
      failed += 1;
      console.log('FAIL', c.name, got['X-Sign'], '!=', c.xSign);
    }
  }
  return failed ? 1 : 0;
}

async function main([command, ...args]) {
  if (command === 'vectors') return checkVectors(args[0]);
  if (command === 'balance') console.log(await send(args[0], 'GET', `/v1/sessions/${args[1]}/balance`));
  else if (command === 'pay-in') console.log(await payIn(...args));
  else throw new Error('usage: node sign.js vectors FILE | balance URL SESSION | pay-in URL SESSION BET AMOUNT');
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
