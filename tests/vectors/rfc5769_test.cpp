// RFC 5769 sample messages: decode to the published fields, verify, and re-encode byte for byte.
#include <gtest/gtest.h>

#include "tern/auth/keys.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"
#include "vectors/vector_file.hpp"

namespace tern {
namespace {

using namespace protocol;
using testing::bytes_of;
using testing::load_vector;

const std::string kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";
const TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                            0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

std::string text(const MessageView& m, std::uint16_t type) {
  auto v = m.find_value(type);
  return v ? std::string(v->begin(), v->end()) : "<absent>";
}

TEST(Rfc5769, SampleRequestDecodesAndVerifies) {
  const auto bytes = load_vector("rfc5769_2.1_sample_request.hex");
  ASSERT_EQ(bytes.size(), 108u);
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->type(), 0x0001);
  EXPECT_EQ(m->transaction_id(), kTid);
  EXPECT_EQ(text(*m, attr::kSoftware), "STUN test client");
  EXPECT_EQ(*decode_username(*m->find_value(attr::kUsername)), "evtj:h6vY");
  const auto priority = m->find_value(attr::kPriority);
  ASSERT_TRUE(priority);
  EXPECT_EQ(load_be32(priority->data()), 0x6e0001ffu);
  const auto controlled = m->find_value(attr::kIceControlled);
  ASSERT_TRUE(controlled);
  EXPECT_EQ(auth::to_hex(*controlled), "932ff9b151263b36");
  const auto key = bytes_of(kShortTermPassword);
  EXPECT_EQ(check_message_integrity(*m, key), Check::kValid);
  EXPECT_EQ(check_message_integrity(*m, bytes_of("wrong")), Check::kInvalid);
  EXPECT_EQ(check_fingerprint(*m), Check::kValid);
  EXPECT_EQ(auth::to_hex(*m->find_value(attr::kFingerprint)), "e57a3bcf");
  EXPECT_EQ(auth::to_hex(*m->find_value(attr::kMessageIntegrity)),
            "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2");
}

TEST(Rfc5769, SampleRequestReencodesByteForByte) {
  const auto expected = load_vector("rfc5769_2.1_sample_request.hex");
  std::vector<std::uint8_t> out(256);
  MessageBuilder b(out, 0x0001, kTid);
  b.set_padding_byte(0x20);  // RFC 5769 pads with spaces
  b.add_string(attr::kSoftware, "STUN test client");
  b.add_u32(attr::kPriority, 0x6e0001ff);
  b.add(attr::kIceControlled, auth::from_hex("932ff9b151263b36"));
  b.add_string(attr::kUsername, "evtj:h6vY");
  b.add_message_integrity(bytes_of(kShortTermPassword));
  b.add_fingerprint();
  auto done = b.finish();
  ASSERT_TRUE(done);
  EXPECT_EQ(auth::to_hex(*done), auth::to_hex(expected));
}

TEST(Rfc5769, VerificationDoesNotMutateTheInput) {
  const auto original = load_vector("rfc5769_2.1_sample_request.hex");
  auto bytes = original;
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m);
  check_message_integrity(*m, bytes_of(kShortTermPassword));
  check_message_integrity_sha256(*m, bytes_of(kShortTermPassword));
  check_fingerprint(*m);
  EXPECT_EQ(bytes, original);
}

struct ResponseCase {
  const char* file;
  std::size_t size;
  const char* address;
  const char* fingerprint;
  const char* integrity;
};

class Rfc5769Response : public ::testing::TestWithParam<ResponseCase> {};

TEST_P(Rfc5769Response, DecodesVerifiesAndReencodes) {
  const auto& c = GetParam();
  const auto bytes = load_vector(c.file);
  ASSERT_EQ(bytes.size(), c.size);
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->type(), 0x0101);
  EXPECT_EQ(text(*m, attr::kSoftware), "test vector");
  auto mapped = decode_xor_address(*m->find_value(attr::kXorMappedAddress), kTid);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->to_string(), c.address);
  EXPECT_EQ(check_message_integrity(*m, bytes_of(kShortTermPassword)), Check::kValid);
  EXPECT_EQ(check_fingerprint(*m), Check::kValid);
  EXPECT_EQ(auth::to_hex(*m->find_value(attr::kFingerprint)), c.fingerprint);
  EXPECT_EQ(auth::to_hex(*m->find_value(attr::kMessageIntegrity)), c.integrity);

  std::vector<std::uint8_t> out(256);
  MessageBuilder b(out, 0x0101, kTid);
  b.set_padding_byte(0x20);
  b.add_string(attr::kSoftware, "test vector");
  b.add_xor_address(attr::kXorMappedAddress, *mapped);
  b.add_message_integrity(bytes_of(kShortTermPassword));
  b.add_fingerprint();
  EXPECT_EQ(auth::to_hex(*b.finish()), auth::to_hex(bytes));
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, Rfc5769Response,
    ::testing::Values(ResponseCase{"rfc5769_2.2_sample_ipv4_response.hex", 80, "192.0.2.1:32853",
                                   "c07d4c96", "2b91f599fd9e90c38c7489f92af9ba53f06be7d7"},
                      ResponseCase{"rfc5769_2.3_sample_ipv6_response.hex", 92,
                                   "[2001:db8:1234:5678:11:2233:4455:6677]:32853", "c8fb0b4c",
                                   "a382954e4be67bf11784c97c8292c275bfe3ed41"}));

// U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9
const std::string kMatrixUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

TEST(Rfc5769, LongTermRequestDecodesVerifiesAndReencodes) {
  const auto bytes = load_vector("rfc5769_2.4_sample_request_long_term_auth.hex");
  ASSERT_EQ(bytes.size(), 116u);
  auto m = MessageView::parse(bytes);
  ASSERT_TRUE(m) << m.error().message();
  const TransactionId tid = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
                             0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
  EXPECT_EQ(m->transaction_id(), tid);
  EXPECT_EQ(*decode_username(*m->find_value(attr::kUsername)), kMatrixUser);
  EXPECT_EQ(*decode_realm(*m->find_value(attr::kRealm)), "example.org");
  EXPECT_EQ(*decode_nonce(*m->find_value(attr::kNonce)), "f//499k954d6OL34oL9FSTvy64sA");
  EXPECT_FALSE(m->find(attr::kFingerprint));
  EXPECT_EQ(check_fingerprint(*m), Check::kAbsent);
  const auto key = auth::md5_key(kMatrixUser, "example.org", "TheMatrIX");
  EXPECT_EQ(auth::to_hex(key), "e8ca7ad59d5eb0518e312911d2dab2a9");
  EXPECT_EQ(check_message_integrity(*m, key), Check::kValid);
  // The password before SASLprep does not verify.
  const auto raw = auth::md5_key(kMatrixUser, "example.org", "The\xc2\xad" "M\xc2\xaatr\xe2\x85\xa8");
  EXPECT_EQ(check_message_integrity(*m, raw), Check::kInvalid);

  std::vector<std::uint8_t> out(256);
  MessageBuilder b(out, 0x0001, tid);
  b.add_string(attr::kUsername, kMatrixUser);
  b.add_string(attr::kNonce, "f//499k954d6OL34oL9FSTvy64sA");
  b.add_string(attr::kRealm, "example.org");
  b.add_message_integrity(key);
  EXPECT_EQ(auth::to_hex(*b.finish()), auth::to_hex(bytes));
}

TEST(Rfc8489, KeyExampleFromSection9_2_2) {
  EXPECT_EQ(auth::to_hex(auth::md5_key("user", "realm", "pass")),
            "8493fbc53ba582fb4c044c456bdc40eb");
}

}  // namespace
}  // namespace tern
