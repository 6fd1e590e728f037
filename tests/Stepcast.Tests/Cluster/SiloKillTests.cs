using Orleans.Runtime;
using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Cluster;

/// <summary>
/// A silo process killed (SIGKILL) while friends wait: their reminders move to the surviving silos and every due
/// step reaches LINE exactly once, counted at the fake LINE server.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SiloKillTests(PostgresServer postgres)
{
    private const string Channel = "kill";

    [Fact]
    public async Task Killing_a_silo_while_friends_wait_still_sends_every_due_step_exactly_once()
    {
        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions());
        await using var cluster = await SiloProcessCluster.StartAsync(postgres, silos: 3, new Dictionary<string, string>
        {
            // A day lasts a second: the 20-day wait below is 20 s of real time.
            ["Stepcast__Engine__WaitCompression"] = "86400",
            // A wait that short is run by each friend's own timer, with its reminder a retry period behind as the safety
            // net: that net is what brings back the killed silo's friends, so keep it well inside the test's patience.
            ["Stepcast__Engine__ReminderRetryPeriod"] = "00:00:15",
            ["Stepcast__Channels__0__ChannelId"] = Channel,
            ["Stepcast__Channels__0__ChannelSecret"] = "kill-channel-secret",
            ["Stepcast__Channels__0__AccessToken"] = "kill-channel-token",
            ["Line__ApiBaseUrl"] = line.BaseUrl,
        });
        var scenario = cluster.Client.GetGrain<IScenarioGrain>(ScenarioKey.Format(Channel, "welcome"));
        Assert.Empty(await scenario.SaveDraft(Define(Channel, "welcome", new FollowTrigger(),
            Send("hello", "step one"), WaitDays("wait", 20), Send("later", "step two"))));
        Assert.True((await scenario.Publish()).Published);
        var friends = Enumerable.Range(0, 120).Select(i => $"Ukill{i:D3}").ToList();

        await Task.WhenAll(friends.Select(id => cluster.Client.GetFriend(Channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        await WaitForDeliveriesAsync(line, friends.Count);
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var victim = (await management.GetDetailedHosts(onlyActive: true)).Single(h => h.SiloName == cluster.Silos[1].Name).SiloAddress;
        var waitingOnVictim = (await management.GetSimpleGrainStatistics([victim]))
            .Where(s => s.GrainType.Contains("FriendGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        Assert.True(waitingOnVictim > 0, "the silo to kill hosts no waiting friend");
        cluster.Silos[1].Kill();
        await WaitForDeliveriesAsync(line, 2 * friends.Count);
        await Task.Delay(TimeSpan.FromSeconds(3)); // any duplicate would arrive now

        var perFriendAndStep = line.Deliveries.Snapshot()
            .SelectMany(d => d.Recipients.Select(r => (Friend: r, Step: d.MessagesJson.Contains("step one") ? "one" : "two")))
            .GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(friends, id =>
        {
            Assert.Equal(1, perFriendAndStep.GetValueOrDefault((id, "one")));
            Assert.Equal(1, perFriendAndStep.GetValueOrDefault((id, "two")));
        });
        Assert.Equal(2 * friends.Count, perFriendAndStep.Values.Sum());
    }

    /// <summary>Waits until <paramref name="count"/> messages reached friends, counting each multicast recipient.</summary>
    private static async Task WaitForDeliveriesAsync(FakeLineServer line, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (line.Deliveries.Snapshot().Sum(d => d.Recipients.Count) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }
    }
}
