// Package unixhttp is the client half of HTTP/1.1 over the daemon's Unix
// socket, written out so that bmsched, which every build worker starts,
// links neither net/http nor, through it, crypto/tls, x509 and http2:
// their package initialisation alone cost a worker's process about a
// millisecond. It speaks the subset the daemon's net/http server uses:
// one request per connection with a Content-Length or chunked body, and
// answers framed by Content-Length, chunked transfer or the end of the
// connection, after any number of 1xx interim answers.
package unixhttp
