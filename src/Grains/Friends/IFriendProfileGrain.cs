namespace Stepcast.Grains.Friends;

/// <summary>
/// A friend's LINE profile (display name, picture, status message, language), fetched from LINE on demand and
/// cached, keyed like the friend (<see cref="FriendKey"/>). Kept beside the friend grain rather than in it, so
/// reading a profile never queues behind (or wakes) a friend's scenario runs.
/// </summary>
public interface IFriendProfileGrain : IGrainWithStringKey
{
    /// <summary>
    /// The cached profile when younger than <see cref="FriendProfileGrain.CacheDuration"/> and <paramref name="refresh"/>
    /// is false; otherwise fetched from LINE. A fetched display name is handed to the friend for placeholders.
    /// </summary>
    Task<FriendProfileResult> GetProfile(bool refresh);
}

public enum FriendProfileStatus
{
    Found,
    /// <summary>The channel has no access token (a sandbox channel): LINE cannot be asked.</summary>
    NoAccessToken,
    /// <summary>LINE does not know the user for this channel, or the friend blocked it (404).</summary>
    NotFound,
    /// <summary>LINE could not be reached or refused; a cached profile, if any, is returned with it.</summary>
    Unavailable,
}

[GenerateSerializer, Immutable]
public sealed record FriendProfileResult(
    [property: Id(0)] FriendProfileStatus Status,
    [property: Id(1)] FriendProfile? Profile = null,
    [property: Id(2)] string? Detail = null);

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record FriendProfile
{
    [Id(0)] public required string DisplayName { get; init; }
    [Id(1)] public string? PictureUrl { get; init; }
    [Id(2)] public string? StatusMessage { get; init; }
    [Id(3)] public string? Language { get; init; }
    [Id(4)] public required DateTimeOffset FetchedAt { get; init; }
}
