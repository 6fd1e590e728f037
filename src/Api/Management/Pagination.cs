using System.Buffers.Text;
using System.Text;

namespace Stepcast.Api.Management;

/// <summary>One page of a list. <see cref="NextCursor"/> is null on the last page; pass it back as <c>cursor</c> for the next.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>
/// Cursor pagination: a cursor is an opaque base64url token holding the position after the last item returned
/// (a key, not an offset), so items added or removed between calls neither repeat nor vanish from later pages.
/// </summary>
public static class Pagination
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static string Encode(string position) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes("v1:" + position));

    /// <summary>Checks <c>limit</c> and decodes <c>cursor</c> (null: the first page); adds a problem naming the field otherwise.</summary>
    public static bool TryRead(string? cursor, int? limit, FieldErrors errors, out string? position, out int pageSize)
    {
        position = null;
        pageSize = limit ?? DefaultLimit;
        if (pageSize is < 1 or > MaxLimit)
        {
            errors.Add("limit", $"'limit' must be between 1 and {MaxLimit}.");
        }

        if (!string.IsNullOrEmpty(cursor))
        {
            try
            {
                var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
                position = text.StartsWith("v1:", StringComparison.Ordinal) ? text[3..] : null;
            }
            catch (FormatException)
            {
                position = null;
            }

            if (position is null)
            {
                errors.Add("cursor", "'cursor' is not a cursor this API returned.");
            }
        }

        return !errors.Any;
    }

    /// <summary>A page of items sorted by an ordinal key, after <paramref name="after"/>.</summary>
    public static Page<T> ByKey<T>(IEnumerable<T> sorted, Func<T, string> key, string? after, int limit)
    {
        var items = sorted.Where(item => after is null || string.CompareOrdinal(key(item), after) > 0).Take(limit + 1).ToList();
        return Cut(items, limit, last => Encode(key(last)));
    }

    public static Page<T> Cut<T>(List<T> items, int limit, Func<T, string> cursorOf)
    {
        if (items.Count <= limit)
        {
            return new Page<T>(items, null);
        }

        items.RemoveAt(items.Count - 1);
        return new Page<T>(items, cursorOf(items[^1]));
    }
}
