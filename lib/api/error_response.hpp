// The one map from a model::Error to an HTTP answer (as userver's GetHttpStatus):
//   validation 422 (FastAPI shape), unauthorized 401 (+ WWW-Authenticate), forbidden 403,
//   not_found 404, conflict and lease_lost 409, journal_failed and unavailable 503.
// Handlers return errors; they never build error bodies themselves.
#pragma once

#include "http/message.hpp"
#include "model/errc.hpp"

namespace taskd::api {

unsigned http_status(model::Errc code);
http::Response error_response(const model::Error& error);

// {"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}
void append_field_errors(std::string& out, const model::FieldErrors& errors);

}  // namespace taskd::api
