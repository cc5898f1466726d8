<?php
// Sign BETCORE wallet requests in PHP 7.4+ (no extension beyond the defaults).
//
//   php sign.php vectors signing.json                          # check the known-answer vectors
//   php sign.php balance http://127.0.0.1:8080 session-eur     # a signed GET
//   php sign.php pay-in http://127.0.0.1:8080 session-eur bet-1 2.50

const COUNTERPARTY_ID = '933a215f-a9e6-4f88-9d91-52a87cd50499'; // yours; these two are the sandbox's demo provider
const SECRET = 'sandbox-secret-key-123';

/** The four headers for one request. $body: the exact string you send (ignored for GET). */
function betcore_sign(string $method, string $body, string $counterpartyId, string $secret,
                      string $timestamp, string $requestId): array
{
    $message = "$counterpartyId.$timestamp.$requestId";
    if ($method !== 'GET') {
        $message = "$body.$message";
    }
    return [
        'X-Counterparty-Id' => $counterpartyId,
        'X-Timestamp' => $timestamp,
        'X-Request-Id' => $requestId,
        'X-Sign' => hash_hmac('sha256', $message, $secret),
    ];
}

/** Send one signed request: a fresh timestamp (ms) and request id for every attempt. */
function betcore_send(string $baseUrl, string $method, string $path, string $body = ''): string
{
    $timestamp = (string) (int) (microtime(true) * 1000);
    $headers = betcore_sign($method, $body, COUNTERPARTY_ID, SECRET, $timestamp, bin2hex(random_bytes(16)));
    $headers['Content-Type'] = 'application/json';
    $lines = [];
    foreach ($headers as $name => $value) {
        $lines[] = "$name: $value";
    }
    $options = ['method' => $method, 'header' => implode("\r\n", $lines), 'ignore_errors' => true, 'timeout' => 10];
    if ($method !== 'GET') {
        $options['content'] = $body;
    }
    // ignore_errors: a 4xx/5xx still carries the JSON answer
    $answer = @file_get_contents($baseUrl . $path, false, stream_context_create(['http' => $options]));
    if ($answer === false) {
        throw new RuntimeException("no answer from $baseUrl$path"); // a retry takes a new X-Request-Id
    }
    return $answer;
}

function betcore_pay_in(string $baseUrl, string $sessionId, string $betId, string $amount): string
{
    // json_encode writes '/' as '\/': fine, the signature covers the bytes as sent
    $body = json_encode(['betId' => $betId, 'betAmount' => $amount, 'gameRoundId' => "round-$betId",
                         'sessionId' => $sessionId]);
    return betcore_send($baseUrl, 'POST', "/v1/sessions/$sessionId/bets/pay-in", $body);
}

function betcore_check_vectors(string $path): int
{
    $failed = 0;
    foreach (json_decode(file_get_contents($path), true)['cases'] as $c) {
        $got = betcore_sign($c['method'], $c['body'] ?? '', $c['counterpartyId'], $c['secret'], $c['timestamp'],
                            $c['requestId'])['X-Sign'];
        if ($got === $c['xSign']) {
            echo "ok {$c['name']}\n";
        } else {
            $failed++;
            echo "FAIL {$c['name']} $got != {$c['xSign']}\n";
        }
    }
    return $failed ? 1 : 0;
}

$args = array_slice($argv, 1);
switch ($args[0] ?? '') {
    case 'vectors':
        exit(betcore_check_vectors($args[1]));
    case 'balance':
        echo betcore_send($args[1], 'GET', "/v1/sessions/{$args[2]}/balance"), "\n";
        break;
    case 'pay-in':
        echo betcore_pay_in(...array_slice($args, 1)), "\n";
        break;
    default:
        fwrite(STDERR, "usage: php sign.php vectors FILE | balance URL SESSION | pay-in URL SESSION BET AMOUNT\n");
        exit(2);
}
