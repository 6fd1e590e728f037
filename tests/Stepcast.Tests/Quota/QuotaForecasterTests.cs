using System.Collections.Immutable;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Quota;

public sealed class QuotaForecasterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);

    /// <summary>The restaurant shape: coupons at entry, 7 days later and 30 days after entry.</summary>
    private static readonly ScenarioDefinition Restaurant = Define("ch", "restaurant", new FollowTrigger(),
        Send("welcome", "Welcome"), WaitDays("week", 7), Send("second", "Second visit"), WaitDays("month", 23), Send("monthly", "Monthly"));

    private static Forecast Run(ForecastRequest request, params RunsAtStep[] current) =>
        QuotaForecaster.Run([Restaurant], request, current, "Asia/Tokyo", Now, new PlanPricingOptions());

    [Fact]
    public void Ten_new_friends_a_day_in_December_send_560_messages_and_fit_the_light_plan()
    {
        var forecast = Run(new ForecastRequest { NewFriendsPerDay = 10 });

        // Entries on December 1–31 at noon Tokyo: 31 days × 10 welcomes; the 7-day coupon for entries on the 1st–24th
        // (240); the 30-day coupon only for entries on the 1st (10).
        var december = Assert.Single(forecast.Months);
        Assert.Equal("2026-12", december.Month);
        Assert.Equal(560, december.Messages);
        Assert.Equal(560, december.FromNewFriends);
        Assert.Equal(0, december.FromCurrentEnrollments);
        Assert.Equal(560, december.ByScenario["restaurant"]);

        var communication = december.Plans.Single(p => p.Plan == LinePlan.Communication);
        Assert.Equal(360, communication.UnsentMessages);
        Assert.Equal(0m, communication.Cost);
        var light = december.Plans.Single(p => p.Plan == LinePlan.Light);
        Assert.Equal(0, light.UnsentMessages);
        Assert.Equal(5_000m, light.Cost);
        Assert.Equal(15_000m, december.Plans.Single(p => p.Plan == LinePlan.Standard).Cost);
        Assert.Equal(LinePlan.Light, december.CheapestSufficientPlan);
    }

    [Fact]
    public void The_second_month_adds_the_first_months_later_coupons()
    {
        var forecast = Run(new ForecastRequest { NewFriendsPerDay = 10, Months = 2 });

        // January: its own entries (560 as in December) + 7-day coupons of December 25–31 (70) + 30-day coupons of
        // December 2–31 (300).
        Assert.Equal(["2026-12", "2027-01"], forecast.Months.Select(m => m.Month));
        Assert.Equal(930, forecast.Months[1].Messages);
    }

    [Fact]
    public void Friends_already_enrolled_continue_from_their_step()
    {
        var waiting = new RunsAtStep { ScenarioId = "restaurant", StepId = "second", DueAt = new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero), Count = 100 };

        var december = Assert.Single(Run(new ForecastRequest { NewFriendsPerDay = 10 }, waiting).Months);

        // Their second coupon on December 5 and their monthly one 23 days later, on December 28.
        Assert.Equal(200, december.FromCurrentEnrollments);
        Assert.Equal(760, december.Messages);
    }

    [Fact]
    public void Splits_weigh_paths_by_their_percentages_and_branch_rates_apply_when_given()
    {
        var scenario = Define("ch", "ab", new EventTrigger { Name = "cart_abandoned" },
            new SplitStep { Id = "split", HoldoutPercent = 10, Variants = [new SplitVariant { Name = "a", Percent = 45, Goto = "a" }, new SplitVariant { Name = "b", Percent = 45, Goto = "b" }] },
            Send("a", "A") with { Next = "check" },
            Send("b", "B") with { Next = "check" },
            new BranchStep { Id = "check", Cases = [new BranchCase { When = new TagCondition { Tag = "vip" }, Goto = "vip" }], Otherwise = "end" },
            Send("vip", "VIP") with { Next = "end" },
            new ExitStep { Id = "end" });
        var request = new ForecastRequest
        {
            From = new DateOnly(2027, 2, 1),
            EntrantsPerDay = ImmutableDictionary<string, double>.Empty.Add("ab", 100),
            PathRates = ImmutableDictionary<string, ImmutableDictionary<string, double>>.Empty
                .Add("check", ImmutableDictionary<string, double>.Empty.Add("vip", 0.2)),
        };

        var february = Assert.Single(QuotaForecaster.Run([scenario], request, [], "Asia/Tokyo", Now, new PlanPricingOptions()).Months);

        // 28 days × 100 entrants × (0.9 sent A or B + 0.9 × 0.2 VIP).
        Assert.Equal("2027-02", february.Month);
        Assert.Equal(2_800 * 1.08, february.Messages, 0.5);
    }
}
