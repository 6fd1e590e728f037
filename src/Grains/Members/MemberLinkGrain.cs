namespace Stepcast.Grains.Members;

[GenerateSerializer]
public sealed class MemberLinkState
{
    [Id(0)] public MemberLink? Link { get; set; }
}

public sealed class MemberLinkGrain(
    [PersistentState("memberLink")] IPersistentState<MemberLinkState> state,
    TimeProvider timeProvider) : Grain, IMemberLinkGrain
{
    async Task<MemberLink> IMemberLinkGrain.Link(string lineUserId)
    {
        if (state.State.Link is { } current && current.LineUserId == lineUserId)
        {
            return current;
        }

        var key = this.GetPrimaryKeyString();
        var slash = key.IndexOf('/');
        state.State.Link = new MemberLink
        {
            ChannelId = key[..slash],
            MemberId = key[(slash + 1)..],
            LineUserId = lineUserId,
            LinkedAt = timeProvider.GetUtcNow(),
        };
        await state.WriteStateAsync();
        return state.State.Link;
    }

    async Task<bool> IMemberLinkGrain.Unlink()
    {
        if (state.State.Link is null)
        {
            return false;
        }

        await state.ClearStateAsync();
        state.State.Link = null;
        return true;
    }

    Task<MemberLink?> IMemberLinkGrain.Get() => Task.FromResult(state.State.Link);
}
