package server

import (
	"fmt"
	"net/http"

	"github.com/bmsched/bmsched/internal/api"
)

// limitBody bounds what h may read of a request body to api.MaxBody, and
// refuses at once a body that says it is larger.
func limitBody(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > api.MaxBody {
			writeErr(w, tooLarge())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, api.MaxBody)
		h(w, r)
	}
}

func tooLarge() *api.Error {
	return &api.Error{Exit: api.ExitUsage, Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("request body larger than %d bytes: no request of bmsched's needs that much", api.MaxBody)}
}
