// Sign BETCORE wallet requests in Go (standard library only).
//
//	go run sign.go vectors signing.json                          # check the known-answer vectors
//	go run sign.go balance http://127.0.0.1:8080 session-eur     # a signed GET
//	go run sign.go pay-in http://127.0.0.1:8080 session-eur bet-1 2.50
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

const (
	counterpartyID = "933a215f-a9e6-4f88-9d91-52a87cd50499" // yours; these two are the sandbox's demo provider
	secret         = "sandbox-secret-key-123"
)

// Sign returns the four headers for one request. body: the exact bytes you send (ignored for GET).
func Sign(method string, body []byte, counterpartyID, secret, timestamp, requestID string) map[string]string {
	mac := hmac.New(sha256.New, []byte(secret))
	if method != http.MethodGet {
		mac.Write(body)
		mac.Write([]byte("."))
	}
	mac.Write([]byte(counterpartyID + "." + timestamp + "." + requestID))
	return map[string]string{
		"X-Counterparty-Id": counterpartyID,
		"X-Timestamp":       timestamp,
		"X-Request-Id":      requestID,
		"X-Sign":            hex.EncodeToString(mac.Sum(nil)),
	}
}

// Send sends one signed request: a fresh timestamp (ms) and request id for every attempt.
func Send(baseURL, method, path string, body []byte) (string, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	timestamp := strconv.FormatInt(time.Now().UnixMilli(), 10)
	request, err := http.NewRequest(method, baseURL+path, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	for name, value := range Sign(method, body, counterpartyID, secret, timestamp, hex.EncodeToString(id)) {
		request.Header.Set(name, value)
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := (&http.Client{Timeout: 10 * time.Second}).Do(request)
	if err != nil {
		return "", err
	}
	defer response.Body.Close()
	answer, err := io.ReadAll(response.Body) // a 4xx/5xx still carries the JSON answer
	return string(answer), err
}

func PayIn(baseURL, sessionID, betID, amount string) (string, error) {
	body, err := json.Marshal(map[string]string{
		"betId": betID, "betAmount": amount, "gameRoundId": "round-" + betID, "sessionId": sessionID,
	})
	if err != nil {
		return "", err
	}
	return Send(baseURL, http.MethodPost, "/v1/sessions/"+sessionID+"/bets/pay-in", body)
}

func checkVectors(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var file struct {
		Cases []struct {
			Name, Method, Secret, CounterpartyID, Timestamp, RequestID, XSign string
			Body                                                              *string
		}
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return 0, err
	}
	failed := 0
	for _, c := range file.Cases {
		body := []byte{}
		if c.Body != nil {
			body = []byte(*c.Body)
		}
		got := Sign(c.Method, body, c.CounterpartyID, c.Secret, c.Timestamp, c.RequestID)["X-Sign"]
		if got == c.XSign {
			fmt.Println("ok", c.Name)
		} else {
			failed++
			fmt.Println("FAIL", c.Name, got, "!=", c.XSign)
		}
	}
	return failed, nil
}

func main() {
	args := os.Args[1:]
	var answer string
	var err error
	switch {
	case len(args) == 2 && args[0] == "vectors":
		var failed int
		if failed, err = checkVectors(args[1]); err == nil && failed > 0 {
			os.Exit(1)
		}
	case len(args) == 3 && args[0] == "balance":
		answer, err = Send(args[1], http.MethodGet, "/v1/sessions/"+args[2]+"/balance", nil)
	case len(args) == 5 && args[0] == "pay-in":
		answer, err = PayIn(args[1], args[2], args[3], args[4])
	default:
		err = fmt.Errorf("usage: go run sign.go vectors FILE | balance URL SESSION | pay-in URL SESSION BET AMOUNT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if answer != "" {
		fmt.Println(answer)
	}
}
