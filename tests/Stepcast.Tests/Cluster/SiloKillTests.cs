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
        await using var cluster = await StartClusterAsync(line, new Dictionary<string, string>
        {
            // A day lasts a second: the 20-day wait below is 20 s of real time.
            ["Stepcast__Engine__WaitCompression"] = "86400",
            // A wait that short is run by each friend's own timer, with its reminder a retry period behind as the safety
            // net: that net is what brings back the killed silo's friends, so keep it well inside the test's patience.
            ["Stepcast__Engine__ReminderRetryPeriod"] = "00:00:15",
        });
        await PublishWelcomeAsync(cluster, Send("hello", "step one"), WaitDays("wait", 20), Send("later", "step two"));
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

    [Fact]
    public async Task Killing_a_silo_in_the_middle_of_its_friends_welcomes_still_sends_each_welcome_exactly_once()
    {
        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions());
        await using var cluster = await StartClusterAsync(line, new Dictionary<string, string>
        {
            // The welcome is due at the follow: what brings back the killed silo's friends is the safety net their follow
            // wrote into their row, a retry period on, which the surviving silos sweep for.
            ["Stepcast__Engine__ReminderRetryPeriod"] = "00:00:10",
            ["Stepcast__Engine__SafetyNetSweepPeriod"] = "00:00:02",
            ["Stepcast__Engine__SendRetryDelay"] = "00:00:02",
        });
        await PublishWelcomeAsync(cluster, Send("hello", "welcome"));
        var friends = Enumerable.Range(0, 90).Select(i => $"Uhung{i:D3}").ToList();
        // LINE holds every send unanswered (and unrecorded) for a while, then fails it: the killed silo's sends die in flight.
        line.Faults.Add(new FakeLineFault { Kind = FakeLineFaultKind.Hang, HangDuration = TimeSpan.FromSeconds(6), Probability = 1 });

        await Task.WhenAll(friends.Select(id => cluster.Client.GetFriend(Channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var victim = (await management.GetDetailedHosts(onlyActive: true)).Single(h => h.SiloName == cluster.Silos[1].Name).SiloAddress;
        var sendingOnVictim = (await management.GetSimpleGrainStatistics([victim]))
            .Where(s => s.GrainType.Contains("FriendGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
        Assert.True(sendingOnVictim > 0, "the silo to kill hosts no friend");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(line.Deliveries.Snapshot());
        cluster.Silos[1].Kill();
        line.Faults.Clear();
        await WaitForDeliveriesAsync(line, friends.Count);
        await Task.Delay(TimeSpan.FromSeconds(3)); // any duplicate would arrive now

        var perFriend = line.Deliveries.Snapshot().SelectMany(d => d.Recipients).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(friends, id => Assert.Equal(1, perFriend.GetValueOrDefault(id)));
        Assert.Equal(friends.Count, perFriend.Values.Sum());
    }

    /// <summary>Three silo processes whose channel pushes to <paramref name="line"/>, with the engine settings given.</summary>
    private Task<SiloProcessCluster> StartClusterAsync(FakeLineServer line, Dictionary<string, string> engine) =>
        SiloProcessCluster.StartAsync(postgres, silos: 3, new Dictionary<string, string>(engine)
        {
            ["Stepcast__Channels__0__ChannelId"] = Channel,
            ["Stepcast__Channels__0__ChannelSecret"] = "kill-channel-secret",
            ["Stepcast__Channels__0__AccessToken"] = "kill-channel-token",
            ["Line__ApiBaseUrl"] = line.BaseUrl,
        });

    private static async Task PublishWelcomeAsync(SiloProcessCluster cluster, params ScenarioStep[] steps)
    {
        var scenario = cluster.Client.GetGrain<IScenarioGrain>(ScenarioKey.Format(Channel, "welcome"));
        Assert.Empty(await scenario.SaveDraft(Define(Channel, "welcome", new FollowTrigger(), steps)));
        Assert.True((await scenario.Publish()).Published);
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
