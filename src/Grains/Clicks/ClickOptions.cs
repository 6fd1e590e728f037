namespace Stepcast.Grains.Clicks;

/// <summary>Click tracking settings, bound from <c>Stepcast:Clicks</c>.</summary>
public sealed class ClickOptions
{
    public const string SectionName = "Stepcast:Clicks";

    /// <summary>Where friends reach the Api from, e.g. <c>https://stepcast.example.com</c>; tracked links are <c>{PublicBaseUrl}/r/{token}</c>.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// The secret that signs click tokens, the same on every silo and Api process (at least 16 characters). Without
    /// it, links are sent as written and nothing is tracked. Rotating it breaks the links already sent.
    /// </summary>
    public string? SigningKey { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(PublicBaseUrl) && SigningKey is { Length: >= 16 };
}
