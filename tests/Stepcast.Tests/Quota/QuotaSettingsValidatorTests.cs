using Stepcast.Grains.Quota;

namespace Stepcast.Tests.Quota;

public sealed class QuotaSettingsValidatorTests
{
    private static readonly QuotaSettings Standard = new()
    {
        Plan = LinePlan.Standard, ExtraMessageCap = 1_000, WhenExhausted = QuotaExhaustedPolicy.Skip, AlertThresholds = [50], TimeZone = "America/New_York",
    };

    private static IEnumerable<string> Paths(IReadOnlyList<Stepcast.Grains.Scenarios.ValidationProblem> problems) => problems.Select(p => p.Path).Order();

    [Fact]
    public void Values_not_given_keep_the_current_ones()
    {
        Assert.True(QuotaSettingsValidator.TryApply(new RawQuotaSettings(), Standard, out var settings, out var problems));

        Assert.Empty(problems);
        Assert.Equal(Standard, settings);
    }

    [Fact]
    public void Leaving_the_standard_plan_drops_its_paid_cap()
    {
        Assert.True(QuotaSettingsValidator.TryApply(new RawQuotaSettings { Plan = "Light" }, Standard, out var settings, out _));

        Assert.Equal(LinePlan.Light, settings.Plan);
        Assert.Equal(0, settings.ExtraMessageCap);
        Assert.Equal(5_000, settings.MonthlyLimit);
    }

    [Fact]
    public void Thresholds_are_kept_once_each_in_order()
    {
        Assert.True(QuotaSettingsValidator.TryApply(new RawQuotaSettings { AlertThresholds = [100, 80, 100] }, Standard, out var settings, out _));

        Assert.Equal(new[] { 80, 100 }, settings.AlertThresholds.ToArray());
    }

    [Fact]
    public void Every_wrong_field_is_named_by_its_json_path()
    {
        var raw = new RawQuotaSettings
        {
            Plan = "light", ExtraMessageCap = 10, WhenExhausted = "explode", AlertThresholds = [0], TimeZone = "Mars/Olympus",
        };

        Assert.False(QuotaSettingsValidator.TryApply(raw, Standard, out var settings, out var problems));

        Assert.Null(settings);
        Assert.Equal(["$.alertThresholds", "$.extraMessageCap", "$.timeZone", "$.whenExhausted"], Paths(problems));
    }

    [Fact]
    public void The_custom_plan_needs_a_monthly_limit()
    {
        Assert.False(QuotaSettingsValidator.TryApply(new RawQuotaSettings { Plan = "custom" }, new QuotaSettings(), out _, out var problems));
        Assert.Equal(["$.customMonthlyLimit"], Paths(problems));

        Assert.True(QuotaSettingsValidator.TryApply(new RawQuotaSettings { Plan = "custom", CustomMonthlyLimit = 7 }, new QuotaSettings(), out var settings, out _));
        Assert.Equal(7, settings.MonthlyLimit);
    }

    [Theory]
    [InlineData("gold")]
    [InlineData("7")]
    public void An_unreadable_plan_is_the_only_problem_named_when_the_rest_depends_on_it(string plan)
    {
        Assert.False(QuotaSettingsValidator.TryApply(new RawQuotaSettings { Plan = plan, ExtraMessageCap = 10 }, new QuotaSettings(), out _, out var problems));

        var problem = Assert.Single(problems);
        Assert.Equal("$.plan", problem.Path);
        Assert.StartsWith($"'{plan}'", problem.Message);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("light,standard")]
    [InlineData("premium")]
    public void A_plan_must_be_named_not_numbered_or_combined(string plan)
    {
        Assert.False(QuotaSettingsValidator.TryApply(new RawQuotaSettings { Plan = plan }, Standard, out _, out var problems));

        Assert.Equal(["$.plan"], Paths(problems));
    }
}
