#ifndef TEMOIN_SERVER_RPC_STREAM_REACTORS_H_
#define TEMOIN_SERVER_RPC_STREAM_REACTORS_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/secret_buffer.h"
#include "server/rpc/auth_processor.h"
#include "server/rpc/guarded_reactor.h"

// The three shapes of streaming call the server has, each on gRPC's callback API so
// that an open stream costs memory and no thread.
namespace temoin::server {

// A bidirectional stream of requests, each answered in order once its blocking step
// (on the pool) is done: Sync/Upload (batches) and Sync/UploadAttachment (pieces). The
// session is checked again for every request, so a revocation cuts a long upload
// short. A step's error ends the stream with it; the device closing its side ends it OK.
// Without `answer_empty`, a response that serialises to nothing is not written (a quiet
// attachment piece: server/core/piece_stream.h) and the next request is read at once.
// With `opening` (an Upload opened with a sign-in instead of a token, see
// auth_processor.h), the stream first signs the device in: `opening` runs on the pool,
// sets the token that authorises every later request, and gives the first answer;
// only once that is written is the first request read. Its error ends the stream
// before any request is read.
template <typename Request, typename Response>
class AnsweringStreamReactor final
    : public GuardedReactor<grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>> {
 public:
  using Answer = std::function<absl::StatusOr<Response>(const Session&, const Request&)>;
  // Sets the token, and may name trailing metadata (a refused device's wipe order),
  // which the reactor adds only while the call is not finished.
  using Opening = std::function<absl::StatusOr<Response>(
      std::string& token, std::vector<std::pair<std::string, std::string>>& trailers)>;

  AnsweringStreamReactor(grpc::CallbackServerContext* ctx, CallEnv& env, Admission admission,
                         Answer answer, bool answer_empty = true, Opening opening = nullptr)
      : GuardedReactor(env, std::move(admission)),
        ctx_(ctx),
        answer_(std::move(answer)),
        answer_empty_(answer_empty),
        token_(SessionTokenOf(*ctx)) {
    Watch(/*awaiting_first_message=*/true);
    if (!opening) {
      StartRead(&in_);
    } else if (!RunOnPool([this, opening = std::move(opening)] { Open(opening); })) {
      FinishOnce(ServerBusy());
    }
  }
  ~AnsweringStreamReactor() override { crypto::WipeString(token_); }

  void OnReadDone(bool ok) override {
    if (!ok) return FinishOnce(grpc::Status::OK);  // the device closed its side, or left
    Progress();
    if (!RunOnPool([this] { AnswerRequest(); })) FinishOnce(ServerBusy());
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return FinishOnce(grpc::Status::OK);  // the device left; its retry dedups
    Progress();
    std::lock_guard lock(mu_);
    if (!finished_) StartRead(&in_);
  }

 private:
  void Open(const Opening& opening) {
    std::vector<std::pair<std::string, std::string>> trailers;
    absl::StatusOr<Response> response = opening(token_, trailers);
    std::lock_guard lock(mu_);
    // Unfinished, so gRPC has not released the context (the watchdog may have ended
    // the call meanwhile).
    if (finished_) return;
    for (const auto& [key, value] : trailers) ctx_->AddTrailingMetadata(key, value);
    if (!response.ok()) return FinishLocked(ToGrpcStatus(response.status()));
    out_ = SerializeMessage(*response);
    StartWrite(&out_);  // OnWriteDone reads the first request
  }

  void AnswerRequest() {
    absl::StatusOr<Response> response = Respond();
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!response.ok()) return FinishLocked(ToGrpcStatus(response.status()));
    if (!answer_empty_ && response->ByteSizeLong() == 0) return StartRead(&in_);
    out_ = SerializeMessage(*response);
    StartWrite(&out_);
  }

  absl::StatusOr<Response> Respond() {
    absl::StatusOr<Request> request = ParseMessage<Request>(in_);
    if (!request.ok()) return request.status();
    absl::StatusOr<Session> session = SessionOfToken(token_, env().core().sessions());
    if (!session.ok()) return session.status();
    return answer_(*session, *request);
  }

  grpc::CallbackServerContext* const ctx_;
  const Answer answer_;
  const bool answer_empty_;
  // The call's own token, or the one its opening sign-in got. Steps run one at a time,
  // so the pool's threads never touch it at once.
  std::string token_;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
};

// A client stream taken piece by piece, then answered once: Sync/Relay (a bundle in
// pieces, spooled to disk). `take` runs on the pool for each piece, in order (the next
// read starts only when it is done), and may refuse it; `answer` runs on the pool once
// the client has sent everything. The session is checked again for every piece.
template <typename Piece, typename Response>
class GatheringStreamReactor final
    : public GuardedReactor<grpc::ServerReadReactor<grpc::ByteBuffer>> {
 public:
  using Take = std::function<absl::Status(const Session&, const Piece&)>;
  using Answer = std::function<absl::StatusOr<Response>(const Session&)>;

  GatheringStreamReactor(grpc::CallbackServerContext* ctx, CallEnv& env, Admission admission,
                         grpc::ByteBuffer* response, Take take, Answer answer)
      : GuardedReactor(env, std::move(admission)),
        ctx_(ctx),
        response_(response),
        take_(std::move(take)),
        answer_(std::move(answer)) {
    Watch(/*awaiting_first_message=*/true);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      if (ctx_->IsCancelled()) return FinishOnce(grpc::Status::CANCELLED);
      if (!RunOnPool([this] { AnswerAll(); })) FinishOnce(ServerBusy());
      return;
    }
    Progress();
    if (!RunOnPool([this] { TakePiece(); })) FinishOnce(ServerBusy());
  }

 private:
  void TakePiece() {
    absl::StatusOr<Piece> piece = ParseMessage<Piece>(in_);
    absl::StatusOr<Session> session = SessionFromContext(*ctx_, env().core().sessions());
    absl::Status taken = !piece.ok()     ? piece.status()
                         : !session.ok() ? session.status()
                                         : take_(*session, *piece);
    std::lock_guard lock(mu_);
    if (!taken.ok()) return FinishLocked(ToGrpcStatus(taken));
    if (!finished_) StartRead(&in_);
  }

  void AnswerAll() {
    absl::StatusOr<Session> session = SessionFromContext(*ctx_, env().core().sessions());
    absl::StatusOr<Response> response = session.ok() ? answer_(*session) : session.status();
    std::lock_guard lock(mu_);
    if (response.ok()) *response_ = SerializeMessage(*response);
    FinishLocked(response.ok() ? grpc::Status::OK : ToGrpcStatus(response.status()));
  }

  grpc::CallbackServerContext* const ctx_;
  grpc::ByteBuffer* const response_;
  const Take take_;
  const Answer answer_;
  grpc::ByteBuffer in_;
};

// A server stream written page by page: each page is produced on the pool when the
// previous one has gone out, so a slow reader holds neither a thread nor more than a
// page in memory. An empty page ends the stream OK; an error ends it with that error.
// Review/FetchRecords and Sync/FetchAttachment.
template <typename Message>
class PagedWriteReactor final : public GuardedReactor<grpc::ServerWriteReactor<Message>> {
 public:
  using NextPage = std::function<absl::StatusOr<std::vector<Message>>(const Session&)>;

  PagedWriteReactor(grpc::CallbackServerContext* ctx, CallEnv& env, Admission admission,
                    NextPage next_page)
      : GuardedReactor<grpc::ServerWriteReactor<Message>>(env, std::move(admission)),
        ctx_(ctx),
        next_page_(std::move(next_page)) {
    this->Watch(/*awaiting_first_message=*/false);
    if (!this->RunOnPool([this] { WriteNextPage(); })) this->FinishOnce(ServerBusy());
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return this->FinishOnce(grpc::Status::CANCELLED);  // the reader left
    this->Progress();
    std::lock_guard lock(this->mu_);
    if (this->finished_) return;
    if (next_ < page_.size()) return this->StartWrite(&page_[next_++]);
    if (!this->RunOnPool([this] { WriteNextPage(); })) this->FinishLocked(ServerBusy());
  }

 private:
  void WriteNextPage() {
    absl::StatusOr<Session> session = SessionFromContext(*ctx_, this->env().core().sessions());
    absl::StatusOr<std::vector<Message>> page =
        session.ok() ? next_page_(*session) : session.status();
    std::lock_guard lock(this->mu_);
    if (this->finished_) return;
    if (!page.ok()) return this->FinishLocked(ToGrpcStatus(page.status()));
    if (page->empty()) return this->FinishLocked(grpc::Status::OK);
    page_ = std::move(*page);
    next_ = 0;
    this->StartWrite(&page_[next_++]);
  }

  grpc::CallbackServerContext* const ctx_;
  const NextPage next_page_;
  std::vector<Message> page_;
  size_t next_ = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_STREAM_REACTORS_H_
