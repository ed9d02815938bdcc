package client

// SharedToken returns the token the server's shared requests use, for the tests.
func SharedToken(cl *Client) string {
	if token := cl.server.token.Load(); token != nil {
		return *token
	}
	return ""
}
