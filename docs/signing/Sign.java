// Sign BETCORE wallet requests in Java 17+ (JDK only).
//
//   java Sign.java vectors signing.json                          # check the known-answer vectors
//   java Sign.java balance http://127.0.0.1:8080 session-eur     # a signed GET
//   java Sign.java pay-in http://127.0.0.1:8080 session-eur bet-1 2.50

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Sign {
    // Yours; these two are the sandbox's demo provider.
    static final String COUNTERPARTY_ID = "933a215f-a9e6-4f88-9d91-52a87cd50499";
    static final String SECRET = "sandbox-secret-key-123";

    /** The four headers for one request. body: the exact bytes you send (ignored for GET). */
    static Map<String, String> sign(String method, byte[] body, String counterpartyId, String secret,
                                    String timestamp, String requestId) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        if (!method.equals("GET")) {
            mac.update(body);
            mac.update((byte) '.');
        }
        String tail = counterpartyId + "." + timestamp + "." + requestId;
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("X-Counterparty-Id", counterpartyId);
        headers.put("X-Timestamp", timestamp);
        headers.put("X-Request-Id", requestId);
        headers.put("X-Sign", HexFormat.of().formatHex(mac.doFinal(tail.getBytes(StandardCharsets.UTF_8))));
        return headers;
    }

    /** Send one signed request: a fresh timestamp (ms) and request id for every attempt. */
    static String send(String baseUrl, String method, String path, byte[] body) throws Exception {
        String timestamp = Long.toString(System.currentTimeMillis());
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
                                                     : HttpRequest.BodyPublishers.ofByteArray(body));
        sign(method, body, COUNTERPARTY_ID, SECRET, timestamp, UUID.randomUUID().toString()).forEach(request::header);
        // a 4xx/5xx still carries the JSON answer
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    static String payIn(String baseUrl, String sessionId, String betId, String amount) throws Exception {
        // Ids and amount are plain ASCII here; build bodies with your JSON library in a real game server.
        String body = String.format(
                "{\"betId\":\"%s\",\"betAmount\":\"%s\",\"gameRoundId\":\"round-%s\",\"sessionId\":\"%s\"}",
                betId, amount, betId, sessionId);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return send(baseUrl, "POST", "/v1/sessions/" + sessionId + "/bets/pay-in", bytes);
    }

    @SuppressWarnings("unchecked")
    static int checkVectors(String path) throws Exception {
        Map<String, Object> file = (Map<String, Object>) new Json(Files.readString(Path.of(path))).value();
        int failed = 0;
        for (Object item : (List<Object>) file.get("cases")) {
            Map<String, String> c = (Map<String, String>) item;
            byte[] body = c.get("body") == null ? new byte[0] : c.get("body").getBytes(StandardCharsets.UTF_8);
            String got = sign(c.get("method"), body, c.get("counterpartyId"), c.get("secret"), c.get("timestamp"),
                    c.get("requestId")).get("X-Sign");
            if (got.equals(c.get("xSign"))) {
                System.out.println("ok " + c.get("name"));
            } else {
                failed++;
                System.out.println("FAIL " + c.get("name") + " " + got + " != " + c.get("xSign"));
            }
        }
        return failed == 0 ? 0 : 1;
    }

    public static void main(String[] args) throws Exception {
        switch (args.length == 0 ? "" : args[0]) {
            case "vectors" -> System.exit(checkVectors(args[1]));
            case "balance" -> System.out.println(
                    send(args[1], "GET", "/v1/sessions/" + args[2] + "/balance", new byte[0]));
            case "pay-in" -> System.out.println(payIn(args[1], args[2], args[3], args[4]));
            default -> {
                System.err.println(
                        "usage: java Sign.java vectors FILE | balance URL SESSION | pay-in URL SESSION BET AMOUNT");
                System.exit(2);
            }
        }
    }

    /** Just enough JSON to read the vectors file: the JDK has no JSON parser. */
    static final class Json {
        private final String text;
        private int at;

        Json(String text) {
            this.text = text;
        }

        Object value() {
            skipSpace();
            char c = text.charAt(at);
            if (c == '{') {
                Map<String, Object> map = new LinkedHashMap<>();
                at++;
                while (next() != '}') {
                    String key = (String) value();
                    expect(':');
                    map.put(key, value());
                    if (next() == ',') at++;
                }
                at++;
                return map;
            }
            if (c == '[') {
                List<Object> list = new ArrayList<>();
                at++;
                while (next() != ']') {
                    list.add(value());
                    if (next() == ',') at++;
                }
                at++;
                return list;
            }
            if (c == '"') return string();
            int start = at;
            while (at < text.length() && ",}] \t\r\n".indexOf(text.charAt(at)) < 0) at++;
            String word = text.substring(start, at);
            return word.equals("null") ? null : word;
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            at++;
            for (char c = text.charAt(at++); c != '"'; c = text.charAt(at++)) {
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> out.append(e); // \" \\ \/
                }
            }
            return out.toString();
        }

        private char next() {
            skipSpace();
            return text.charAt(at);
        }

        private void expect(char c) {
            if (next() != c) throw new IllegalArgumentException("expected '" + c + "' at " + at);
            at++;
        }

        private void skipSpace() {
            while (Character.isWhitespace(text.charAt(at))) at++;
        }
    }
}
