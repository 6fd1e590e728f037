using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Stepcast.Api.Management;

/// <summary>Opaque list cursors: clients pass back what they were given and never build one themselves.</summary>
public static class Cursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static string Encode(int position) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes("p:" + position.ToString(CultureInfo.InvariantCulture)));

    public static bool TryDecode(string? cursor, out int position)
    {
        position = 0;
        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            return text.StartsWith("p:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out position);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
