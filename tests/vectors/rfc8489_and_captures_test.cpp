// RFC 8489 B.1 (Erratum 6268), the negative vectors, and real Chrome/TURN captures.
#include <gtest/gtest.h>

#include "tern/auth/keys.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/demux.hpp"
#include "tern/protocol/integrity.hpp"
#include "tern/protocol/stream.hpp"
#include "vectors/vector_file.hpp"

namespace tern {
namespace {

using namespace protocol;
using testing::bytes_of;
using testing::load_vector;

const std::string kMatrixUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
const std::string kErratumNonce = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

TEST(Rfc8489B1, ErratumVectorDecodesAndVerifies) {
  const auto bytes = load_vector("rfc8489_B.1_errata6268.hex");
  ASSERT_EQ(bytes.size(), 164u);
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m) << m.error().message();
  auto userhash = decode_userhash(*m->find_value(attr::kUserhash));
  ASSERT_TRUE(userhash);
  EXPECT_EQ(auth::to_hex(*userhash),
            "4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704");
  EXPECT_EQ(*userhash, auth::userhash(kMatrixUser, "example.org"));
  EXPECT_EQ(*decode_nonce(*m->find_value(attr::kNonce)), kErratumNonce);
  EXPECT_EQ(*decode_realm(*m->find_value(attr::kRealm)), "example.org");
  auto algorithm = decode_password_algorithm(*m->find_value(attr::kPasswordAlgorithm));
  ASSERT_TRUE(algorithm);
  EXPECT_EQ(algorithm->algorithm, 0x0002);
  EXPECT_TRUE(algorithm->parameters.empty());
  const auto key = auth::sha256_key(kMatrixUser, "example.org", "TheMatrIX");
  EXPECT_EQ(auth::to_hex(key), "dd295a613b9058c3c23d6dc7165bda072304d989c9d0af3a8c7e184b4f9bb4a1");
  EXPECT_EQ(check_message_integrity_sha256(*m, key), Check::kValid);
  EXPECT_EQ(check_message_integrity(*m, key), Check::kAbsent);
  EXPECT_EQ(check_fingerprint(*m), Check::kAbsent);

  std::vector<std::uint8_t> out(256);
  MessageBuilder b(out, 0x0001, m->transaction_id());
  b.add(attr::kUserhash, *userhash);
  b.add_string(attr::kNonce, kErratumNonce);
  b.add_string(attr::kRealm, "example.org");
  b.add_password_algorithm(0x0002);
  b.add_message_integrity_sha256(key);
  EXPECT_EQ(auth::to_hex(*b.finish()), auth::to_hex(bytes));
}

TEST(Rfc8489B1, PublishedVectorIsRejected) {
  const auto bytes = load_vector("rfc8489_B.1_as_published_BROKEN.hex");
  auto m = MessageView::parse(bytes);
  // Its header length is the whole message size: inconsistent with the datagram.
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), make_error_code(Error::kBadLength));
}

struct NegativeCase {
  const char* file;
  Error error;
};

class NegativeVector : public ::testing::TestWithParam<NegativeCase> {};

TEST_P(NegativeVector, IsRejectedWithTheRightReason) {
  const auto bytes = load_vector(GetParam().file);
  auto m = MessageView::parse(bytes);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), make_error_code(GetParam().error)) << m.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, NegativeVector,
    ::testing::Values(NegativeCase{"neg_attr_after_fingerprint.hex", Error::kAfterFingerprint},
                      NegativeCase{"neg_attr_overrun.hex", Error::kAttributeOverrun},
                      NegativeCase{"neg_bad_magic_cookie.hex", Error::kBadMagicCookie},
                      NegativeCase{"neg_length_not_multiple_of_4.hex", Error::kBadLength},
                      NegativeCase{"neg_top_bits_set.hex", Error::kTopBitsSet}));

TEST(NegativeVectors, TopBitsSetIsRtpToTheDemultiplexer) {
  const auto bytes = load_vector("neg_top_bits_set.hex");
  EXPECT_EQ(classify_first_byte(bytes[0]), PacketKind::kRtp);
  EXPECT_FALSE(looks_like_stun(bytes));
}

TEST(NegativeVectors, BadCookieParsesOnlyAsClassicWhenAllowed) {
  const auto bytes = load_vector("neg_bad_magic_cookie.hex");
  auto m = MessageView::parse(bytes, {.allow_classic = true});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is_classic());
}

TEST(NegativeVectors, UnknownComprehensionRequiredAttributeParses) {
  // The codec accepts it; the server core answers 420 (tests/core/binding_test.cpp).
  const auto bytes = load_vector("neg_unknown_comprehension_required.hex");
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->find(0x7FFF));
  EXPECT_TRUE(attr::comprehension_required(0x7FFF));
  EXPECT_EQ(check_fingerprint(*m), Check::kValid);
}

TEST(ChannelDataVectors, ReservedTruncatedAndZeroLength) {
  const auto reserved_bytes = load_vector("neg_channeldata_reserved_0x5000.hex");
  auto reserved = parse_channel_data(reserved_bytes);
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error(), make_error_code(Error::kNotChannelData));
  const auto truncated_bytes = load_vector("neg_channeldata_truncated.hex");
  auto truncated = parse_channel_data(truncated_bytes);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error(), make_error_code(Error::kTruncated));
  const auto empty_bytes = load_vector("edge_channeldata_zero_length.hex");
  auto empty = parse_channel_data(empty_bytes);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->channel, 0x4001);
  EXPECT_TRUE(empty->payload.empty());
}

TEST(ChromeCaptures, BindingInsideChannelData) {
  const auto bytes = load_vector("turn_channeldata_chrome_1_stun_binding_in_channel.hex");
  auto cd = parse_channel_data(bytes);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->channel, 0x4000);
  EXPECT_EQ(cd->payload.size(), 100u);
  auto inner = MessageView::parse(cd->payload);
  ASSERT_TRUE(inner) << inner.error().message();
  EXPECT_EQ(inner->type(), 0x0001);
  EXPECT_EQ(*decode_username(*inner->find_value(attr::kUsername)), "D7X4:3wlY");
  EXPECT_TRUE(inner->find(attr::kUseCandidate));
  EXPECT_TRUE(inner->find(attr::kIceControlling));
  EXPECT_TRUE(inner->find(0xC057));
  EXPECT_EQ(check_fingerprint(*inner), Check::kValid);
  EXPECT_EQ(auth::to_hex(*inner->find_value(attr::kFingerprint)), "6b334442");
}

TEST(ChromeCaptures, DtlsInsideUnpaddedChannelData) {
  const auto bytes = load_vector("turn_channeldata_chrome_2_dtls_in_channel.hex");
  ASSERT_EQ(bytes.size(), 551u);
  auto cd = parse_channel_data(bytes);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->payload.size(), 547u);
  EXPECT_EQ(classify_first_byte(cd->payload[0]), PacketKind::kDtls);
  EXPECT_EQ(cd->payload[1], 0xfe);
  EXPECT_EQ(cd->payload[2], 0xfd);
  EXPECT_EQ(channel_data_stream_size(cd->payload.size()), 552u);
  // On a stream the frame is padded: 551 buffered bytes are not yet the whole 552-byte frame.
  auto need = next_frame_size(bytes);
  ASSERT_TRUE(need);
  EXPECT_EQ(*need, 552u);
  EXPECT_GT(*need, bytes.size());
}

TEST(ChromeCaptures, AllocateExchangeDecodes) {
  const auto first_bytes = load_vector("turn_allocate_chrome_coturn_1.hex");
  auto first = MessageView::parse(first_bytes);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type(), 0x0003);
  EXPECT_EQ(*decode_requested_transport(*first->find_value(attr::kRequestedTransport)), 17);

  const auto challenge_bytes = load_vector("turn_allocate_chrome_coturn_2.hex");
  auto challenge = MessageView::parse(challenge_bytes);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->type(), 0x0113);
  EXPECT_EQ(challenge->transaction_id(), first->transaction_id());
  auto error = decode_error_code(*challenge->find_value(attr::kErrorCode));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 401);
  EXPECT_EQ(error->reason, "Unauthorized");
  EXPECT_EQ(*decode_nonce(*challenge->find_value(attr::kNonce)), "5a0209b5cb806106");
  EXPECT_EQ(*decode_realm(*challenge->find_value(attr::kRealm)), "a1.cydev.ru");

  const auto retry_bytes = load_vector("turn_allocate_chrome_coturn_3.hex");
  auto retry = MessageView::parse(retry_bytes);
  ASSERT_TRUE(retry);
  EXPECT_NE(retry->transaction_id(), first->transaction_id());
  EXPECT_EQ(*decode_username(*retry->find_value(attr::kUsername)), "ernado");
  EXPECT_EQ(*decode_nonce(*retry->find_value(attr::kNonce)), "5a0209b5cb806106");
  EXPECT_TRUE(retry->find(attr::kMessageIntegrity));

  const auto success_bytes = load_vector("turn_allocate_chrome_coturn_4.hex");
  auto success = MessageView::parse(success_bytes);
  ASSERT_TRUE(success);
  EXPECT_EQ(success->type(), 0x0103);
  EXPECT_EQ(success->transaction_id(), retry->transaction_id());
  const auto& tid = success->transaction_id();
  auto relayed = decode_xor_address(*success->find_value(attr::kXorRelayedAddress), tid);
  auto mapped = decode_xor_address(*success->find_value(attr::kXorMappedAddress), tid);
  ASSERT_TRUE(relayed && mapped);
  EXPECT_EQ(relayed->to_string(), "10.8.22.83:55936");
  EXPECT_EQ(mapped->to_string(), "213.141.156.236:36000");
  EXPECT_EQ(*decode_lifetime(*success->find_value(attr::kLifetime)), 600u);
}

TEST(ConstructedVectors, Rfc8656AllocateRequest) {
  const auto bytes = load_vector("turn_rfc8656_s20_allocate_request_CONSTRUCTED.hex");
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(auth::to_hex(m->transaction_id()), "a56250d3f17abe679422de85");
  EXPECT_EQ(*decode_software(*m->find_value(attr::kSoftware)), "Example client, version 1.03");
  EXPECT_EQ(*decode_lifetime(*m->find_value(attr::kLifetime)), 3600u);
  EXPECT_EQ(*decode_requested_transport(*m->find_value(attr::kRequestedTransport)), 17);
  EXPECT_TRUE(*decode_dont_fragment(*m->find_value(attr::kDontFragment)));

  std::vector<std::uint8_t> out(256);
  MessageBuilder b(out, 0x0003, m->transaction_id());
  b.add_string(attr::kSoftware, "Example client, version 1.03");
  b.add_u32(attr::kLifetime, 3600);
  b.add_requested_transport(17);
  b.add(attr::kDontFragment, {});
  EXPECT_EQ(auth::to_hex(*b.finish()), auth::to_hex(bytes));
}

TEST(RestCredentials, ExampleFromTheVectorsReadme) {
  EXPECT_EQ(auth::rest_password("north", "1700000000:alice"), "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
  EXPECT_EQ(auth::to_hex(auth::md5_key("1700000000:alice", "example.org",
                                       "Cd/49soE35ICqcJF/bCTn8Z4OyE=")),
            "d9a6a3d964467baeffd2fce41704a913");
}

}  // namespace
}  // namespace tern
