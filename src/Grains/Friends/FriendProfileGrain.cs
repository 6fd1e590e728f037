using Microsoft.Extensions.Logging;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Line;

namespace Stepcast.Grains.Friends;

[GenerateSerializer]
public sealed class FriendProfileState
{
    [Id(0)] public FriendProfile? Profile { get; set; }
}

public sealed class FriendProfileGrain(
    [PersistentState("friendProfile", StorageNames.Friends)] IPersistentState<FriendProfileState> state,
    ChannelSettingsCache channels,
    ILineMessagingClient line,
    TimeProvider timeProvider,
    ILogger<FriendProfileGrain> logger) : Grain, IFriendProfileGrain
{
    /// <summary>LINE profiles change rarely; a day keeps the profile API (2,000 requests/s per channel) quiet.</summary>
    public static readonly TimeSpan CacheDuration = TimeSpan.FromHours(24);

    async Task<FriendProfileResult> IFriendProfileGrain.GetProfile(bool refresh)
    {
        var now = timeProvider.GetUtcNow();
        var cached = state.State.Profile;
        if (!refresh && cached is not null && now - cached.FetchedAt < CacheDuration)
        {
            return new FriendProfileResult(FriendProfileStatus.Found, cached);
        }

        var key = FriendKey.Parse(this.GetPrimaryKeyString());
        if (await channels.GetAsync(key.ChannelId) is not { AccessToken: { Length: > 0 } token })
        {
            return new FriendProfileResult(FriendProfileStatus.NoAccessToken, cached, "the channel has no access token");
        }

        var answer = await line.GetProfileAsync(token, key.LineUserId);
        if (answer.Value is { } profile)
        {
            var fetched = new FriendProfile
            {
                DisplayName = profile.DisplayName,
                PictureUrl = profile.PictureUrl,
                StatusMessage = profile.StatusMessage,
                Language = profile.Language,
                FetchedAt = now,
            };
            state.State.Profile = fetched;
            await state.WriteStateAsync();
            if (fetched.DisplayName != cached?.DisplayName)
            {
                // {displayName} placeholders read the friend's own copy.
                await GrainFactory.GetFriend(key.ChannelId, key.LineUserId)
                    .UpdateProfile(new UpdateProfileCommand { DisplayName = fetched.DisplayName });
            }

            return new FriendProfileResult(FriendProfileStatus.Found, fetched);
        }

        var outcome = answer.Outcome;
        logger.LogInformation("LINE profile of {FriendKey} not fetched: {Kind} {StatusCode} {Detail}", key, outcome.Kind, outcome.StatusCode, outcome.ErrorMessage);
        return outcome.StatusCode == 404
            ? new FriendProfileResult(FriendProfileStatus.NotFound, cached, outcome.ErrorMessage)
            : new FriendProfileResult(FriendProfileStatus.Unavailable, cached, outcome.ErrorMessage ?? outcome.Kind.ToString());
    }
}
