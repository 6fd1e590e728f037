using Stepcast.Grains;
using Stepcast.Grains.Delivery.Multicast;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Quota;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class SiloGrainReferencesTests(EngineCluster cluster)
{
    [Fact]
    public async Task A_reference_from_the_cached_grain_type_is_the_grain_Orleans_resolves_and_answers_as_it()
    {
        var channel = NewChannel();
        var resolved = cluster.Grains.GetGrain<IPlanQuotaGrain>(channel);
        // Twice: the first call resolves the type, the second uses what it kept.
        cluster.Grains.GetGrainInSilo<IPlanQuotaGrain>("another-" + channel);
        var cached = cluster.Grains.GetGrainInSilo<IPlanQuotaGrain>(channel);

        Assert.Equal(resolved.GetGrainId(), cached.GetGrainId());
        Assert.Equal(((GrainReference)resolved).InterfaceType, ((GrainReference)cached).InterfaceType);
        await resolved.Configure(new QuotaSettings { Plan = LinePlan.Light });
        Assert.Equal(LinePlan.Light, (await cached.GetSettings()).Plan);

        var batch = Guid.NewGuid();
        Assert.Equal(cluster.Grains.GetGrain<IMulticastBatchGrain>(batch).GetGrainId(), cluster.Grains.GetGrainInSilo<IMulticastBatchGrain>(batch).GetGrainId());
        Assert.NotEqual(cached.GetGrainId(), cluster.Grains.GetGrainInSilo<IPlanQuotaGrain>("another-" + channel).GetGrainId());
    }

    [Fact]
    public async Task A_friend_reference_with_its_pinned_grain_type_is_the_grain_Orleans_resolves_by_convention()
    {
        var channel = NewChannel();
        var key = new FriendKey(channel, "Upinned").ToString();
        var resolved = cluster.Grains.GetGrain<IFriendGrain>(key);
        var pinned = cluster.Grains.GetFriend(channel, "Upinned");

        // The pinned name is the one the convention gives, so ids stored by earlier releases still name the same grain.
        Assert.Equal("friend/" + key, resolved.GetGrainId().ToString());
        Assert.Equal(resolved.GetGrainId(), pinned.GetGrainId());
        Assert.Equal(((GrainReference)resolved).InterfaceType, ((GrainReference)pinned).InterfaceType);
        await resolved.UpdateProfile(new UpdateProfileCommand { DisplayName = "Pinned" });
        Assert.Equal("Pinned", (await pinned.GetSnapshot()).DisplayName);
        Assert.NotEqual(pinned.GetGrainId(), cluster.Grains.GetFriend(channel, "Uother").GetGrainId());
    }
}
