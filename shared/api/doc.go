// Package api is the HTTP API of docs/design.md §9 as a net/http handler: thin
// routes that decode a request, call jobs/importer/objstore, and encode the
// result or a JSON error. API Gateway's JWT authorizer verifies the token;
// the handler reads the tenant and user from the verified claims that the
// Lambda adapter puts in the request context, never from the request body.
package api
