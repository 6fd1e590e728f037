using System.Security.Cryptography;
using System.Text;

namespace Stepcast.Grains.Campaigns;

public static class CampaignIds
{
    /// <summary>
    /// The campaign id an idempotency key stands for: the same key on the same channel is always the same campaign,
    /// so a repeated request can never start a second one. Without a key every request is a new campaign.
    /// </summary>
    public static string For(string channelId, string? idempotencyKey)
    {
        if (idempotencyKey is null)
        {
            return "c" + Guid.NewGuid().ToString("N")[..24];
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{channelId}\n{idempotencyKey}"));
        return "k" + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }
}
