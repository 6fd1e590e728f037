namespace Stepcast.Grains.Channels;

/// <summary>
/// How Stepcast talks to one LINE channel. The secret verifies webhook signatures; the access token authorises
/// pushes. Both are write-only to API clients and never logged. A channel without an access token delivers to
/// the sandbox recorder instead of LINE.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ChannelSettings
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string ChannelSecret { get; init; }
    [Id(2)] public string? AccessToken { get; init; }
    /// <summary>The account's time zone (IANA), used for its plan month.</summary>
    [Id(3)] public string TimeZone { get; init; } = "Asia/Tokyo";

    /// <summary>Safe to log or return: the secrets are masked.</summary>
    public override string ToString() =>
        $"ChannelSettings {{ ChannelId = {ChannelId}, ChannelSecret = ***, AccessToken = {(AccessToken is null ? "none" : "***")}, TimeZone = {TimeZone} }}";
}
