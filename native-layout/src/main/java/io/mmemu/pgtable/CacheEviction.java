package io.mmemu.pgtable;

import io.mmemu.phys.FrameCache;

/**
 * Where MADV_PAGEOUT's walk ({@link PageoutRange}) sends a page-cache page it unmapped: the
 * engine's file cache, which this layer does not know (__remove_mapping through the page's
 * mapping). Called with no PT lock held, after the TLB flush, while the caller still holds the
 * reference the cleared entry had.
 */
@FunctionalInterface
public interface CacheEviction
{
    /**
     * Drops page {@code pfn} from its file's cache if it is clean and held only by the cache and
     * the caller (the cache's reference released to {@code cache}); true when dropped. A dirty
     * page stays cached.
     */
    boolean evict(long pfn, FrameCache cache);
}
