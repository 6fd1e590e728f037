using System.Collections.Immutable;
using System.Text.Json;
using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Delivery;

[Collection(FaultyLineCollection.Name)]
public sealed class LineDeliveryTests(FaultyLineCluster cluster)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Every_friend_receives_each_step_exactly_once_despite_server_errors_timeouts_and_lost_responses()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome!"), new WaitStep { Id = "wait", Minutes = 1 }, Send("second", "One minute later")));
        var friends = Enumerable.Range(1, 200).Select(i => $"U{i:D4}").ToArray();

        // Seeded, so a failing run can be replayed. "After recording" is LINE accepting the push and the answer being
        // lost: only the retry key keeps the next attempt from delivering twice.
        cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 503, Probability = 0.15, Seed = 1, Endpoint = "push" });
        cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 500, AfterRecording = true, Probability = 0.15, Seed = 2, Endpoint = "push" });
        cluster.Line.Faults.Add(new FakeLineFault { Kind = FakeLineFaultKind.Hang, HangDuration = TimeSpan.FromSeconds(3), Probability = 0.03, Seed = 3, Endpoint = "push" });
        cluster.Line.Faults.Add(new FakeLineFault { Kind = FakeLineFaultKind.Hang, HangDuration = TimeSpan.FromSeconds(3), AfterRecording = true, Probability = 0.03, Seed = 4, Endpoint = "push" });
        IReadOnlyList<FriendSnapshot> snapshots;
        try
        {
            foreach (var batch in friends.Chunk(50))
            {
                await Task.WhenAll(batch.Select(id => cluster.Friend(channel, id).Follow(new FollowCommand { At = DateTimeOffset.UtcNow })));
            }

            snapshots = await cluster.DriveUntilAsync(channel, friends, s => s.Enrollments.IsEmpty, Patience);
        }
        finally
        {
            cluster.Line.Faults.Clear();
        }

        Assert.All(snapshots, s => Assert.Empty(s.Enrollments));
        var pushes = cluster.PushesFor(token);
        var byFriend = pushes.GroupBy(p => p.Recipients.Single()).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(friends.Order(), byFriend.Keys.Order());
        foreach (var (friend, received) in byFriend)
        {
            Assert.True(received.Count == 2, $"{friend} received {received.Count} pushes: {string.Join(", ", received.Select(TextOf))}");
            Assert.Equal(["One minute later", "Welcome!"], received.Select(TextOf).Order());
            Assert.Equal(2, received.Select(r => r.RetryKey).Distinct().Count());
        }

        Assert.Equal(friends.Length * 2, pushes.Count);
        // The faults did happen: some sends were retried, and some retries found their key already accepted.
        var history = snapshots.SelectMany(s => s.History).ToList();
        Assert.Contains(history, h => h.Kind == HistoryKind.Sent && h.Detail?.Contains("409", StringComparison.Ordinal) == true);
        Assert.True(cluster.Line.Stats.Requests(token, "push") > pushes.Count, "no push was ever retried");
    }

    [Fact]
    public async Task Monthly_limit_at_LINE_holds_the_step_without_asking_LINE_again_and_raises_the_full_alert()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        cluster.Line.SetMonthlyQuota(token, 0);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!")));

        await cluster.Friend(channel, "U1").Follow(new FollowCommand { At = DateTimeOffset.UtcNow });
        var snapshot = (await cluster.DriveUntilAsync(channel, ["U1"],
            s => s.History.Any(h => h.Kind == HistoryKind.Held), Patience)).Single();

        var entry = snapshot.History.Single(h => h.Kind == HistoryKind.Held);
        Assert.Equal("hello", entry.StepId);
        Assert.Contains("LINE reported the monthly limit reached", entry.Detail);
        Assert.Empty(cluster.PushesFor(token));
        // One request: LINE's quota 429 is not retried within the call, and the channel's quota grain now refuses
        // further sends itself rather than spending requests on LINE's refusals.
        Assert.Equal(1, cluster.Line.Stats.Requests(token, "push"));
        Assert.Equal(1, cluster.Line.Stats.QuotaExceeded(token, "push"));
        var run = Assert.Single(snapshot.Enrollments);
        Assert.Equal("hello", run.StepId);
        Assert.NotNull(run.HeldForQuotaSince);

        var quota = await cluster.Grains.GetGrain<IPlanQuotaGrain>(channel).GetStatus();
        Assert.True(quota.ExhaustedAtLine);
        Assert.Equal(0, quota.Remaining);
        Assert.Contains(quota.Alerts, a => a.ThresholdPercent == 100);
    }

    [Fact]
    public async Task Rejected_push_is_recorded_as_failed_with_lines_reason_and_the_run_moves_on()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("nickname", "{nickname}"), Send("after", "Still here")));
        // An empty nickname renders an empty text, which LINE refuses with a 400 naming the property.
        await cluster.Friend(channel, "U1").UpdateProfile(new UpdateProfileCommand { SetAttributes = ImmutableDictionary<string, string>.Empty.Add("nickname", "") });

        await cluster.Friend(channel, "U1").Follow(new FollowCommand { At = DateTimeOffset.UtcNow });
        var snapshot = (await cluster.DriveUntilAsync(channel, ["U1"], s => s.Enrollments.IsEmpty, Patience)).Single();

        var failed = Assert.Single(snapshot.History, h => h.Kind == HistoryKind.Failed);
        Assert.Equal("nickname", failed.StepId);
        Assert.Contains("Rejected 400", failed.Detail);
        Assert.Contains("messages[0].text: May not be empty", failed.Detail);
        Assert.Contains(snapshot.History, h => h.Kind == HistoryKind.Sent && h.StepId == "after");
        Assert.Equal(["Still here"], cluster.PushesFor(token).Select(TextOf));
        Assert.Equal(2, cluster.Line.Stats.Requests(token, "push"));
    }

    internal static string TextOf(FakeLineDelivery delivery)
    {
        using var messages = JsonDocument.Parse(delivery.MessagesJson);
        return messages.RootElement[0].GetProperty("text").GetString()!;
    }
}
