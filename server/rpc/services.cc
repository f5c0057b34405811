#include "server/rpc/services.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "crypto/keys.h"
#include "server/core/bundle_import.h"
#include "server/core/piece_stream.h"
#include "server/core/relay_spool.h"
#include "server/core/sign_in.h"
#include "server/core/upload_stream.h"
#include "server/rpc/auth_processor.h"
#include "server/rpc/status_conversion.h"
#include "server/rpc/stream_reactors.h"

namespace temoin::server {
namespace {

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

// Runs `work` (-> grpc::Status) on the worker pool and finishes the call with it; the
// admission is held until then.
template <typename Work>
grpc::ServerUnaryReactor* FinishOnPool(grpc::CallbackServerContext* ctx, CallEnv* env,
                                       Admission admission, Work work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto held = std::make_shared<Admission>(std::move(admission));
  if (!env->pool().TrySubmit([reactor, held, work] { reactor->Finish(work()); })) {
    reactor->Finish(ServerBusy());
  }
  return reactor;
}

// A unary call that needs a session: `op(session)` -> absl::StatusOr<Response>.
template <typename Response, typename Op>
grpc::ServerUnaryReactor* WithSession(grpc::CallbackServerContext* ctx, CallEnv* env,
                                      Response* response, Op op) {
  Admission admission;
  if (!env->AdmitDeviceCall(*ctx, &admission)) return FinishNow(ctx, TooManyCallsFromDevice());
  return FinishOnPool(ctx, env, std::move(admission), [ctx, env, response, op] {
    absl::StatusOr<Session> session = SessionFromContext(*ctx, env->core().sessions());
    if (!session.ok()) return ToGrpcStatus(session.status());
    absl::StatusOr<Response> result = op(*session);
    if (!result.ok()) return ToGrpcStatus(result.status());
    *response = std::move(*result);
    return grpc::Status::OK;
  });
}

// A streaming call of a device: admitted against its open-call cap (the reactor holds the
// admission until it is done), or refused at once.
template <typename Reactor, typename Make>
Reactor* AdmitStream(grpc::CallbackServerContext* ctx, CallEnv* env, Make make) {
  Admission admission;
  if (!env->AdmitDeviceCall(*ctx, &admission)) {
    return new RefusedReactor<Reactor>(TooManyCallsFromDevice());
  }
  return make(std::move(admission));
}

// A unary call open without a session (enrolment, sign-in): counted per source address.
template <typename Work>
grpc::ServerUnaryReactor* WithoutSession(grpc::CallbackServerContext* ctx, CallEnv* env,
                                         Work work) {
  Admission admission;
  if (!env->AdmitAnonymousCall(*ctx, &admission)) return FinishNow(ctx, TooManyCallsFromSource());
  return FinishOnPool(ctx, env, std::move(admission), std::move(work));
}

// A sign-in (core/sign_in.h); a revoked device's own wipe order rides on its refusal,
// in the call's trailers.
absl::StatusOr<v1::AuthenticateResponse> SignInWithWipeOrder(
    Core& core, grpc::CallbackServerContext& ctx, const v1::AuthenticateRequest& request) {
  std::optional<std::string> wipe_order;
  absl::StatusOr<v1::AuthenticateResponse> answer = SignIn(core, request, &wipe_order);
  if (wipe_order.has_value()) ctx.AddTrailingMetadata(kWipeOrderMetadata, *wipe_order);
  return answer;
}

// The opening of an Upload that carries a sign-in instead of a token: the device signs
// in, the token goes to the stream, and the answer is the stream's first. A revoked
// device's wipe order goes in `trailers` (the reactor adds them while the call lives).
absl::StatusOr<v1::UploadResponse> SignInOnUpload(
    Core& core, const v1::AuthenticateRequest& request, UploadStream& stream, std::string& token,
    std::vector<std::pair<std::string, std::string>>& trailers) {
  if (request.no_session()) {
    return absl::InvalidArgumentError(
        "a sign-in on an upload needs its session: no_session is for a sign-in alone");
  }
  std::optional<std::string> wipe_order;
  absl::StatusOr<v1::AuthenticateResponse> signed_in = SignIn(core, request, &wipe_order);
  if (wipe_order.has_value()) trailers.emplace_back(kWipeOrderMetadata, std::move(*wipe_order));
  TEMOIN_ASSIGN_OR_RETURN(v1::AuthenticateResponse answer, std::move(signed_in));
  core.metrics().CountSignInOnUpload();
  if (answer.settings().has_log()) {
    const uint64_t size = CheckpointTreeSize(answer.settings().log().checkpoint());
    if (size != UINT64_MAX) stream.OpenedAtTreeSize(size);
  }
  token = answer.token();
  v1::UploadResponse response;
  response.set_sign_in(answer.SerializeAsString());
  crypto::WipeString(*answer.mutable_token());
  return response;
}

int64_t MonotonicSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Refusals that a guess at a code earns (not the server's own trouble).
bool IsRefusedCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

// A burst of refused enrolments from one source goes to the audit log once per window,
// without the address: the admin learns that codes are being guessed, and the log keeps
// no personal data.
void AuditGuessingBurst(Core& core, const EnrollmentGuardLimits& limits) {
  AuditEvent event{
      "", "enrollment.guessing",
      absl::StrCat(limits.max_failures_per_source, " refused enrolments from one source within ",
                   limits.window_seconds / 60,
                   " minutes; its attempts are refused "
                   "until the window ends"),
      ""};
  core.audit().CommitWith(WriteBatch(), {event}).IgnoreError();  // best effort
}

absl::StatusOr<v1::EnrollResponse> GuardedEnroll(CallEnv& env, const std::string& source,
                                                 const v1::EnrollRequest& request) {
  const int64_t now = MonotonicSeconds();
  EnrollmentGuard& guard = env.enrollment_guard();
  if (absl::Status admitted = guard.Admit(source, request.token(), now); !admitted.ok()) {
    return admitted;
  }
  absl::StatusOr<v1::EnrollResponse> result = env.core().enrollment().Enroll(request);
  if (!result.ok() && IsRefusedCode(result.status()) &&
      guard.RecordFailure(source, request.token(), now)) {
    AuditGuessingBurst(env.core(), guard.limits());
  }
  return result;
}

}  // namespace

// --- Enrollment: open without a session ---------------------------------------------

grpc::ServerUnaryReactor* EnrollmentService::Enroll(grpc::CallbackServerContext* ctx,
                                                    const v1::EnrollRequest* request,
                                                    v1::EnrollResponse* response) {
  std::string source = SourceAddressOfPeer(ctx->peer());
  return WithoutSession(ctx, env_, [env = env_, source, request, response] {
    absl::StatusOr<v1::EnrollResponse> result = GuardedEnroll(*env, source, *request);
    if (!result.ok()) return ToGrpcStatus(result.status());
    *response = std::move(*result);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* EnrollmentService::Challenge(grpc::CallbackServerContext* ctx,
                                                       const v1::ChallengeRequest* request,
                                                       v1::ChallengeResponse* response) {
  return WithoutSession(ctx, env_, [env = env_, request, response] {
    absl::StatusOr<std::string> nonce = env->core().sessions().IssueChallenge(request->device_id());
    if (!nonce.ok()) return ToGrpcStatus(nonce.status());
    response->set_nonce(*nonce);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* EnrollmentService::Authenticate(grpc::CallbackServerContext* ctx,
                                                          const v1::AuthenticateRequest* request,
                                                          v1::AuthenticateResponse* response) {
  return WithoutSession(ctx, env_, [env = env_, ctx, request, response] {
    absl::StatusOr<v1::AuthenticateResponse> answer =
        SignInWithWipeOrder(env->core(), *ctx, *request);
    if (!answer.ok()) return ToGrpcStatus(answer.status());
    *response = std::move(*answer);
    return grpc::Status::OK;
  });
}

// --- Admin ----------------------------------------------------------------------------

#define TEMOIN_ADMIN_CALL(Method, Request, Response, expr)                                    \
  grpc::ServerUnaryReactor* AdminService::Method(                                             \
      grpc::CallbackServerContext* ctx, const v1::Request* request, v1::Response* response) { \
    return WithSession(ctx, env_, response,                                                   \
                       [core = &env_->core(), request](const Session& s) { return expr; });   \
  }

TEMOIN_ADMIN_CALL(CreateProject, CreateProjectRequest, CreateProjectResponse,
                  core->admin().CreateProject(s, *request))
TEMOIN_ADMIN_CALL(CreateInvite, CreateInviteRequest, CreateInviteResponse,
                  core->admin().CreateInvite(s, *request))
TEMOIN_ADMIN_CALL(ListDevices, ListDevicesRequest, ListDevicesResponse,
                  (static_cast<void>(request), core->admin().ListDevices(s)))
TEMOIN_ADMIN_CALL(PutGrant, PutGrantRequest, PutGrantResponse, core->admin().PutGrant(s, *request))
TEMOIN_ADMIN_CALL(GetProjectSecrets, GetProjectSecretsRequest, GetProjectSecretsResponse,
                  core->admin().GetProjectSecrets(s, *request))
TEMOIN_ADMIN_CALL(RotateProjectKey, RotateProjectKeyRequest, RotateProjectKeyResponse,
                  core->admin().RotateProjectKey(s, *request))
TEMOIN_ADMIN_CALL(ListGrants, ListGrantsRequest, ListGrantsResponse,
                  core->admin().ListGrants(s, *request))
TEMOIN_ADMIN_CALL(RemoveGrant, RemoveGrantRequest, RemoveGrantResponse,
                  core->admin().RemoveGrant(s, *request))
TEMOIN_ADMIN_CALL(RevokeDevice, RevokeDeviceRequest, RevokeDeviceResponse,
                  core->admin().RevokeDevice(s, *request))
TEMOIN_ADMIN_CALL(GetAuditLog, GetAuditLogRequest, GetAuditLogResponse,
                  core->admin().GetAuditLog(s, *request))
TEMOIN_ADMIN_CALL(AnnounceTlsKey, AnnounceTlsKeyRequest, AnnounceTlsKeyResponse,
                  core->admin().AnnounceTlsKey(s, *request))
TEMOIN_ADMIN_CALL(CertifyServerKeys, CertifyServerKeysRequest, CertifyServerKeysResponse,
                  core->CertifyServerKeys(s, *request))

#undef TEMOIN_ADMIN_CALL

// --- Sync -----------------------------------------------------------------------------

grpc::ServerUnaryReactor* SyncService::GetSettings(grpc::CallbackServerContext* ctx,
                                                   const v1::GetSettingsRequest* request,
                                                   v1::GetSettingsResponse* response) {
  return WithSession(ctx, env_, response, [core = &env_->core(), request](const Session& s) {
    return SettingsFor(*core, s, *request);
  });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* SyncService::Upload(
    grpc::CallbackServerContext* ctx) {
  using Reactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;
  Admission admission;
  if (!env_->AdmitDeviceCall(*ctx, &admission)) {
    return new RefusedReactor<Reactor>(TooManyCallsFromDevice());
  }
  using Stream = AnsweringStreamReactor<v1::UploadRequest, v1::UploadResponse>;
  auto stream = std::make_shared<UploadStream>(env_->core());
  Stream::Opening opening;
  if (std::optional<v1::AuthenticateRequest> sign_in = SignInOf(*ctx); sign_in.has_value()) {
    opening = [core = &env_->core(), stream, request = std::move(*sign_in)](
                  std::string& token, std::vector<std::pair<std::string, std::string>>& trailers) {
      return SignInOnUpload(*core, request, *stream, token, trailers);
    };
  }
  return new Stream(
      ctx, *env_, std::move(admission),
      [stream](const Session& s, const v1::UploadRequest& r) { return stream->Answer(s, r); },
      /*answer_empty=*/true, std::move(opening));
}

grpc::ServerUnaryReactor* SyncService::QueryAttachments(grpc::CallbackServerContext* ctx,
                                                        const v1::QueryAttachmentsRequest* request,
                                                        v1::QueryAttachmentsResponse* response) {
  return WithSession(ctx, env_, response, [core = &env_->core(), request](const Session& s) {
    return core->attachments().Query(s, *request);
  });
}

grpc::ServerUnaryReactor* SyncService::GetLogProofs(grpc::CallbackServerContext* ctx,
                                                    const v1::GetLogProofsRequest* request,
                                                    v1::GetLogProofsResponse* response) {
  return WithSession(ctx, env_, response, [core = &env_->core(), request](const Session& s) {
    return core->GetLogProofs(s, *request);
  });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* SyncService::UploadAttachment(
    grpc::CallbackServerContext* ctx) {
  using Reactor = grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>;
  return AdmitStream<Reactor>(ctx, env_, [&](Admission admission) {
    // One PieceStream per call: pieces after the first may omit their ids, and quiet
    // ones get no answer (an empty one, which the reactor does not write).
    auto pieces = std::make_shared<PieceStream>(env_->core());
    return new AnsweringStreamReactor<v1::AttachmentChunk, v1::BlobStatus>(
        ctx, *env_, std::move(admission),
        [pieces](const Session& s, const v1::AttachmentChunk& c) { return pieces->Take(s, c); },
        /*answer_empty=*/false);
  });
}

namespace {

// Attachment slices a page of a FetchAttachment stream carries: 4 x 64 KiB.
constexpr int kSlicesPerPage = 4;

// Where a download page by page stands: the next slice, and whether its audit entry
// (written with the first page) is in.
struct AttachmentDownload {
  uint64_t next_index = 0;
  bool audited = false;
};

// The next slices of a blob, advancing `download`; empty at the end. The grant is
// checked for every page, so an ungrant stops a long download.
absl::StatusOr<std::vector<v1::AttachmentChunk>> NextAttachmentPage(
    Core& core, const Session& session, const v1::FetchAttachmentRequest& request,
    AttachmentDownload& download) {
  absl::StatusOr<std::string> device =
      core.attachments().OpenFetch(session, request, /*audit=*/!download.audited);
  if (!device.ok()) return device.status();
  download.audited = true;
  std::vector<v1::AttachmentChunk> page;
  absl::Status read = core.attachments().ReadSlices(*device, request, download.next_index,
                                                    [&](const v1::AttachmentChunk& chunk) {
                                                      page.push_back(chunk);
                                                      return page.size() < kSlicesPerPage;
                                                    });
  if (!read.ok()) return read;
  if (!page.empty()) download.next_index = page.back().index() + 1;
  return page;
}

}  // namespace

grpc::ServerWriteReactor<v1::AttachmentChunk>* SyncService::FetchAttachment(
    grpc::CallbackServerContext* ctx, const v1::FetchAttachmentRequest* request) {
  auto download = std::make_shared<AttachmentDownload>();
  download->next_index = request->from_index();
  return AdmitStream<grpc::ServerWriteReactor<v1::AttachmentChunk>>(
      ctx, env_, [&](Admission admission) {
        return new PagedWriteReactor<v1::AttachmentChunk>(
            ctx, *env_, std::move(admission),
            [core = &env_->core(), request, download](const Session& s) {
              return NextAttachmentPage(*core, s, *request, *download);
            });
      });
}

namespace {

// The relay's spool file, begun at the first piece (so that a call refused at sign-in
// or cut before any byte costs no file). Ends with the call.
struct RelayInFlight {
  std::unique_ptr<RelayUpload> upload;
};

absl::Status TakeRelayPiece(RelaySpool& spool, RelayInFlight& relay, const Session& carrier,
                            const v1::RelayRequest& piece) {
  if (relay.upload == nullptr) {
    absl::StatusOr<std::unique_ptr<RelayUpload>> begun = spool.Begin(carrier);
    if (!begun.ok()) return begun.status();
    relay.upload = std::move(*begun);
  }
  return relay.upload->Append(piece.data());
}

absl::StatusOr<v1::RelayResponse> ImportRelay(RelayInFlight& relay) {
  if (relay.upload == nullptr) return absl::InvalidArgumentError("not a temoin bundle");
  absl::StatusOr<BundleImportReport> report = relay.upload->Finish();
  relay.upload.reset();  // the spool file and its budget go now, not when gRPC is done
  if (!report.ok()) return report.status();
  v1::RelayResponse answer;
  answer.set_records(static_cast<uint32_t>(report->records));
  answer.set_duplicates(static_cast<uint32_t>(report->duplicates));
  return answer;
}

}  // namespace

grpc::ServerReadReactor<grpc::ByteBuffer>* SyncService::Relay(grpc::CallbackServerContext* ctx,
                                                              grpc::ByteBuffer* response) {
  auto relay = std::make_shared<RelayInFlight>();
  RelaySpool* spool = &env_->relay_spool();
  return AdmitStream<grpc::ServerReadReactor<grpc::ByteBuffer>>(
      ctx, env_, [&](Admission admission) {
        return new GatheringStreamReactor<v1::RelayRequest, v1::RelayResponse>(
            ctx, *env_, std::move(admission), response,
            [spool, relay](const Session& carrier, const v1::RelayRequest& piece) {
              return TakeRelayPiece(*spool, *relay, carrier, piece);
            },
            [relay](const Session&) { return ImportRelay(*relay); });
      });
}

// --- Review ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* ReviewService::ListRecords(grpc::CallbackServerContext* ctx,
                                                     const v1::ListRecordsRequest* request,
                                                     v1::ListRecordsResponse* response) {
  return WithSession(ctx, env_, response, [core = &env_->core(), request](const Session& s) {
    return core->review().ListRecords(s, *request);
  });
}

namespace {

// Records a page of a FetchRecords stream carries: a page is read (and audited) only
// when the previous one has gone out, so a fetch of 256 records of up to 1 MiB holds at
// most 16 of them in memory, not all 256 (issue 15, item 10).
constexpr int kRecordsPerPage = 16;

// The next page of the requested ids from `*next` on, advancing it; empty at the end.
absl::StatusOr<std::vector<v1::FetchedRecord>> NextRecordPage(
    Core& core, const Session& session, const v1::FetchRecordsRequest& request, int* next) {
  // The first page always asks the core, so that an empty or oversized request gets the
  // core's answer (role check, limit); an empty page ends the stream.
  if (*next > 0 && *next >= request.record_ids_size()) return std::vector<v1::FetchedRecord>();
  if (request.record_ids_size() > ReviewOps::kMaxFetchIds) {
    return core.review().FetchRecords(session, request);
  }
  v1::FetchRecordsRequest page;
  for (; *next < request.record_ids_size() && page.record_ids_size() < kRecordsPerPage; ++*next) {
    page.add_record_ids(request.record_ids(*next));
  }
  return core.review().FetchRecords(session, page);
}

}  // namespace

grpc::ServerWriteReactor<v1::FetchedRecord>* ReviewService::FetchRecords(
    grpc::CallbackServerContext* ctx, const v1::FetchRecordsRequest* request) {
  auto next = std::make_shared<int>(0);
  return AdmitStream<grpc::ServerWriteReactor<v1::FetchedRecord>>(
      ctx, env_, [&](Admission admission) {
        return new PagedWriteReactor<v1::FetchedRecord>(
            ctx, *env_, std::move(admission),
            [core = &env_->core(), request, next](const Session& s) {
              return NextRecordPage(*core, s, *request, next.get());
            });
      });
}

grpc::ServerUnaryReactor* ReviewService::GetGrants(grpc::CallbackServerContext* ctx,
                                                   const v1::GetGrantsRequest*,
                                                   v1::GetGrantsResponse* response) {
  return WithSession(ctx, env_, response, [core = &env_->core()](const Session& s) {
    return core->review().GetGrants(s);
  });
}

}  // namespace temoin::server
