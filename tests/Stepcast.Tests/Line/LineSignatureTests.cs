using System.Text;
using Stepcast.Grains.Line.Webhooks;

namespace Stepcast.Tests.Line;

public sealed class LineSignatureTests
{
    private const string Secret = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

    // Computed independently: printf '%s' "$Body" | openssl dgst -sha256 -hmac "$Secret" -binary | base64
    private const string Body = """{"destination":"U0123456789abcdef0123456789abcdef","events":[]}""";
    private const string Signature = "+SZTtwXc7hFefidkgdxek1yh6+P1dik2pqDhbG0Y7o0=";

    [Fact]
    public void Signature_computed_by_openssl_is_valid() =>
        Assert.True(LineSignature.IsValid(Encoding.UTF8.GetBytes(Body), Secret, Signature));

    [Fact]
    public void Compute_matches_the_openssl_vector() =>
        Assert.Equal(Signature, LineSignature.Compute(Encoding.UTF8.GetBytes(Body), Secret));

    [Fact]
    public void Tampered_body_is_invalid() =>
        Assert.False(LineSignature.IsValid(Encoding.UTF8.GetBytes(Body.Replace("[]", "[ ]", StringComparison.Ordinal)), Secret, Signature));

    [Fact]
    public void Wrong_secret_is_invalid() =>
        Assert.False(LineSignature.IsValid(Encoding.UTF8.GetBytes(Body), "b1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", Signature));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    [InlineData("+SZTtwXc7hFefidkgdxek1yh6+P1dik2pqDhbG0Y7o0=AAAA")]
    public void Missing_or_malformed_header_is_invalid_not_an_exception(string? header) =>
        Assert.False(LineSignature.IsValid(Encoding.UTF8.GetBytes(Body), Secret, header));

    [Fact]
    public void Round_trip_of_compute_is_valid_for_an_empty_body() =>
        Assert.True(LineSignature.IsValid([], Secret, LineSignature.Compute([], Secret)));
}
