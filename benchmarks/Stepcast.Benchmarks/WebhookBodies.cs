using Stepcast.FakeLine;

namespace Stepcast.Benchmarks;

/// <summary>Signed webhook bodies as LINE sends them, built once per benchmark class.</summary>
internal static class WebhookBodies
{
    public const string ChannelSecret = "8c570fa6dd201bb328f1c1eac23a96d8";

    private static readonly DateTimeOffset FirstEventAt = new(2026, 11, 22, 12, 0, 0, TimeSpan.FromHours(9));

    /// <summary>
    /// <paramref name="eventCount"/> events from as many friends, cycling follow, text message, unfollow, so one event
    /// is a follow. Texts are Japanese and of chat length, as in a brand's account.
    /// </summary>
    public static byte[] Mixed(int eventCount)
    {
        var body = new LineWebhookBody("U4af4980629d2f0c1a3b7e5d9f8c6b2a1");
        for (var i = 0; i < eventCount; i++)
        {
            var userId = $"U{i:x8}a1b2c3d4e5f60718293a4b5c6d7e";
            var at = FirstEventAt.AddMilliseconds(37 * i);
            switch (i % 3)
            {
                case 0:
                    body.Follow(userId, isUnblocked: i % 2 == 1, at: at);
                    break;
                case 1:
                    body.Text(userId, "クーポンはまだ使えますか？ / Is the coupon still valid?", at: at);
                    break;
                default:
                    body.Unfollow(userId, at: at);
                    break;
            }
        }

        return body.ToUtf8Bytes();
    }

    /// <summary>The <c>x-line-signature</c> header for <paramref name="body"/>, computed independently of Stepcast.</summary>
    public static string Sign(byte[] body) => LineWebhookBody.Sign(body, ChannelSecret);
}
