namespace Stepcast.HangfireBaseline;

/// <summary>The restaurant scenario as fixed code: a welcome at once, then messages 7 and 30 days after the follow.</summary>
public static class RestaurantScenario
{
    public static readonly IReadOnlyList<(TimeSpan After, string Text)> Steps =
    [
        (TimeSpan.Zero, "友だち追加ありがとうございます！本日から使えるクーポンをお届けします。\n\nThanks for adding us! Here is a coupon you can use from today."),
        (TimeSpan.FromDays(7), "2回目のご来店で使えるクーポンです。 / Your second-visit coupon."),
        (TimeSpan.FromDays(30), "ご来店から30日が経ちました。特別メニューのご案内です。 / A special menu, 30 days on."),
    ];
}
