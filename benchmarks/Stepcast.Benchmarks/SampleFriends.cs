using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.FakeLine;

namespace Stepcast.Benchmarks;

/// <summary>Friend states shaped like the ones a busy channel stores.</summary>
internal static class SampleFriends
{
    /// <summary>
    /// A friend a few weeks in, waiting in two scenarios: 2 enrollments, 20 history entries, 10 attributes, 5 tags,
    /// 3 store events and the 64 recent webhook event ids the grain keeps for de-duplication.
    /// </summary>
    public static FriendState Waiting(DateTimeOffset now)
    {
        var followedAt = now.AddDays(-23);
        var friend = new FriendState
        {
            Status = FriendStatus.Following,
            FollowedAt = followedAt,
            DisplayName = "山田 花子",
            LastReplyText = "クーポンはまだ使えますか？",
            LastReplyAt = now.AddHours(-5),
            EnrollmentsStarted = 4,
        };

        string[][] attributes =
        [
            ["gender", "female"], ["age", "34"], ["area", "Tokyo"], ["os", "iOS"], ["birthMonth", "4"],
            ["memberRank", "gold"], ["favoriteStore", "shibuya"], ["lastPurchaseAmount", "12800"],
            ["newsletter", "weekly"], ["skinType", "dry"],
        ];
        foreach (var pair in attributes)
        {
            friend.Attributes[pair[0]] = pair[1];
        }

        friend.Tags.AddRange(["vip", "prospect", "newsletter", "line-only", "autumn-2026"]);

        friend.Enrollments.Add(new Enrollment
        {
            Number = 3, ScenarioId = "seafood-nurture", Version = 2, StepId = "customer-voices",
            DueAt = now.AddDays(2), EnteredAt = followedAt, Source = "follow",
        });
        friend.Enrollments.Add(new Enrollment
        {
            Number = 4, ScenarioId = "cart-abandonment", Version = 5, StepId = "wait-for-purchase",
            DueAt = now.AddDays(3), AwaitedEvent = "purchased", EnteredAt = now.AddHours(-2), Source = "event:cart_abandoned",
        });

        friend.Participations["seafood-nurture"] = new Participation { Entered = 1, LastEnteredAt = followedAt };
        friend.Participations["cart-abandonment"] = new Participation
        {
            Entered = 2, LastEnteredAt = now.AddHours(-2), LastFinishedAt = now.AddDays(-9),
        };

        HistoryKind[] kinds = [HistoryKind.Entered, HistoryKind.Sent, HistoryKind.Sent, HistoryKind.Skipped, HistoryKind.Sent];
        for (var i = 0; i < 20; i++)
        {
            var kind = kinds[i % kinds.Length];
            friend.History.Add(new HistoryEntry
            {
                At = followedAt.AddDays(i),
                Kind = kind,
                ScenarioId = i % 2 == 0 ? "seafood-nurture" : "cart-abandonment",
                Version = i % 2 == 0 ? 2 : 5,
                StepId = $"step-{i}",
                Detail = kind == HistoryKind.Skipped ? "quiet hours: moved to 08:00" : null,
                RetryKey = kind == HistoryKind.Sent ? Guid.NewGuid() : null,
            });
        }

        friend.Events.Add(new SeenEvent("cart_abandoned", now.AddDays(-12)));
        friend.Events.Add(new SeenEvent("purchased", now.AddDays(-10)));
        friend.Events.Add(new SeenEvent("cart_abandoned", now.AddHours(-2)));

        for (var i = 0; i < 64; i++)
        {
            friend.RecentEventIds.Add(LineWebhookBody.NewWebhookEventId(followedAt.AddHours(i * 8)));
        }

        return friend;
    }
}
