using System.Text.Json.Serialization;

namespace Stepcast.FakeLine;

/// <summary>Source-generated JSON for the fake's own control endpoints (<c>/_fake/…</c>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<FakeLineDelivery>))]
[JsonSerializable(typeof(FakeLineFault))]
[JsonSerializable(typeof(FakeLineQuotaSetting))]
internal sealed partial class FakeLineJsonContext : JsonSerializerContext;

/// <summary>Body of <c>POST /_fake/quota</c>: the monthly limit of one channel (null for unlimited).</summary>
public sealed record FakeLineQuotaSetting(string ChannelAccessToken, long? Limit);
