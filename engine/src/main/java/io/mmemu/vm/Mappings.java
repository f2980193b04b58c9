package io.mmemu.vm;

import java.util.concurrent.ConcurrentHashMap;

/**
 * What the {@code mapping} word of a data page's frame descriptor names (folio->mapping): the root
 * {@link AnonVma} of an anonymous page's family (Linux's anon_vma pointer with PAGE_MAPPING_ANON), or,
 * for a page-cache page, its {@link MappedFile}. The descriptor lives off-heap and holds a word, not
 * a reference; this machine-wide table turns the word back into the object for reclaim, which starts
 * from a frame on an LRU list. A root is registered when its first process joins the family and
 * dropped when the last one leaves (exit): a page isolated after that finds nothing here and is
 * left to the free its last reference will make.
 * <p>
 * Word encoding: anonymous roots {@code id << 1 | 1}, files {@code id << 1}; 0 names nothing.
 */
final class Mappings
{
    private final ConcurrentHashMap<Long, AnonVma> anon = new ConcurrentHashMap<>();

    /** The mapping word of an anonymous page of {@code vma} (which has its anon_vma). */
    static long anonWord(final Vma vma)
    {
        return (vma.anonVma().root().id << 1) | 1;
    }

    /** folio->index of the anonymous page at {@code page} of {@code vma}: its linear page index. */
    static long linearIndex(final Vma vma, final long page)
    {
        return vma.pgoff + ((page - vma.start) >>> 12);
    }

    static boolean isAnon(final long word)
    {
        return (word & 1) != 0;
    }

    void register(final AnonVma root)
    {
        assert root.root() == root : "only a family's root is named by pages";
        anon.put(root.id, root);
    }

    void unregister(final AnonVma root)
    {
        anon.remove(root.id, root);
    }

    /** The anon_vma root an anonymous page's word names, or null once its family is gone. */
    AnonVma anonRoot(final long word)
    {
        return isAnon(word) ? anon.get(word >>> 1) : null;
    }
}
